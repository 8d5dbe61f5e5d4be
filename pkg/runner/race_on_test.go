//go:build race

package runner_test

// inARow is how many runs in a row a healthy embedded cluster must pass
// each transactional scenario. Under the race detector (CI's second pass
// over every test) five: the twenty of the plain pass would add about a
// minute there (exactly-once-failover alone takes 48 s for twenty runs).
const inARow = 5
