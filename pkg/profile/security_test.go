package profile

import (
	"strings"
	"testing"
)

func TestClientProperties(t *testing.T) {
	p := Default()
	p.Apply(Overrides{Bootstrap: []string{"h:9093"}, Security: SecurityOverrides{Properties: []string{
		"security.protocol=SASL_SSL", "sasl.mechanisms=scram-sha-256", "sasl.username=e2e", "sasl.password=pw",
		"enable.ssl.certificate.verification=false",
	}}})
	c := p.Cluster
	if !c.TLS.Enabled || !c.TLS.InsecureSkipVerify || c.SASL.Mechanism != "SCRAM-SHA-256" || c.SASL.User != "e2e" || c.SASL.Password != "pw" {
		t.Fatalf("cluster = %+v", c)
	}
	if err := p.Validate(known); err != nil {
		t.Fatal(err)
	}
	sec, err := c.Security()
	if err != nil || sec.TLS == nil || sec.SASL == nil || sec.SASL.Password != "pw" {
		t.Fatalf("Security() = %+v, %v", sec, err)
	}

	// The dedicated flags win over -X.
	p = Default()
	p.Apply(Overrides{Security: SecurityOverrides{Properties: []string{"sasl.mechanism=PLAIN"}, SASLMechanism: "SCRAM-SHA-512"}})
	if p.Cluster.SASL.Mechanism != "SCRAM-SHA-512" {
		t.Errorf("mechanism = %q, want the flag's", p.Cluster.SASL.Mechanism)
	}
}

func TestValidateSecurity(t *testing.T) {
	t.Setenv("E2E_SET", "secret")
	tests := []struct {
		name string
		set  func(c *Cluster)
		want []string // parts of the problems; none: valid
	}{
		{"plaintext", func(*Cluster) {}, nil},
		{"sasl from env", func(c *Cluster) { c.SASL = SASL{Mechanism: "PLAIN", User: "u", PasswordEnv: "E2E_SET"} }, nil},
		{"sasl without user or password", func(c *Cluster) { c.SASL = SASL{Mechanism: "PLAIN"} },
			[]string{"cluster.sasl.user: must be set", "cluster.sasl.password_env: must name the environment variable"}},
		{"unset variable", func(c *Cluster) { c.SASL = SASL{Mechanism: "PLAIN", User: "u", PasswordEnv: "E2E_UNSET_VAR"} },
			[]string{"$E2E_UNSET_VAR is not set"}},
		{"unknown mechanism", func(c *Cluster) { c.SASL = SASL{Mechanism: "GSSAPI", User: "u", Password: "p"} },
			[]string{`"GSSAPI" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`}},
		{"user without mechanism", func(c *Cluster) { c.SASL = SASL{User: "u"} }, []string{"cluster.sasl.mechanism: must be set"}},
		{"tls keys while off", func(c *Cluster) { c.TLS = TLS{CAFile: "ca.pem"} }, []string{"cluster.tls.enabled: is false"}},
		{"cert without key", func(c *Cluster) { c.TLS = TLS{Enabled: true, CertFile: "nowhere.pem"} },
			[]string{"cert_file and key_file go together", "cluster.tls.cert_file: nowhere.pem is not a readable file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			tt.set(&p.Cluster)
			err := p.Validate(known)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("valid, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestGeneratedTopic(t *testing.T) {
	for name, want := range map[string]bool{
		"e2e-3x3-8c8092a1":               true,
		"e2e-my.profile_x-0000abcd":      true,
		"e2e-failover-8c8092a1-failover": true,
		"e2e-failover-8c8092a1-acks-all": true,
		"e2e-3x3-8c8092a":                false, // 7 hex digits
		"e2e-3x3-8C8092A1":               false, // the runner writes lower case
		"orders":                         false,
		"e2e-fixed":                      false, // a name the user gave
		"x-e2e-3x3-8c8092a1":             false,
		"e2e-3x3-8c8092a1-Failover":      false,
	} {
		if got := GeneratedTopic.MatchString(name); got != want {
			t.Errorf("GeneratedTopic(%q) = %v, want %v", name, got, want)
		}
	}
}
