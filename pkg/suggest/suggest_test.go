package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"profil", "profile", 1}, {"mesages", "messages", 1}, {"acks", "ackz", 1}, {"json", "jsno", 2}, {"abc", "", 3}, {"", "ab", 2}} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
