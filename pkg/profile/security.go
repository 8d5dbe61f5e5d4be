package profile

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
)

// TLS says how the runner's clients encrypt their connections
// (cluster.tls). File paths are relative to the working directory.
type TLS struct {
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of the CA certificates to trust; empty: the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client's certificate and key (mutual TLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the host name the brokers' certificates must be for;
	// empty: the host of each address.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify trusts any certificate: for test clusters only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASL says how the runner's clients authenticate (cluster.sasl). The
// password is never in the profile: PasswordEnv names the environment
// variable that holds it.
type SASL struct {
	Mechanism   string `yaml:"mechanism"` // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty: no SASL
	User        string `yaml:"user"`
	PasswordEnv string `yaml:"password_env"`
	// Password is a password given on the command line (-X sasl.password=…);
	// it is never written anywhere.
	Password string `yaml:"-" json:"-"`
}

// Enabled reports whether the profile asks for SASL.
func (s SASL) Enabled() bool { return s.Mechanism != "" }

// Flags of the security overrides.
const (
	FlagTLS             = "tls"
	FlagTLSCA           = "tls-ca"
	FlagSASLMechanism   = "sasl-mechanism"
	FlagSASLUser        = "sasl-user"
	FlagSASLPasswordEnv = "sasl-password-env"
	FlagClientProperty  = "property" // -X key=value, as kcat takes it; problems name it -X
)

// SecurityOverrides are the security settings given on the command line.
type SecurityOverrides struct {
	TLS           *bool  // --tls
	TLSCA         string // --tls-ca
	SASLMechanism string // --sasl-mechanism
	SASLUser      string // --sasl-user
	PasswordEnv   string // --sasl-password-env
	// Properties are the -X key=value client properties, in the order given.
	Properties []string
}

// clientProperties maps the -X client properties (librdkafka's and the Java
// client's names) to what they set.
var clientProperties = map[string]func(p *Profile, value string) error{
	"security.protocol": func(p *Profile, v string) error {
		switch strings.ToUpper(v) {
		case "PLAINTEXT":
			p.Cluster.TLS.Enabled = false
			p.Cluster.SASL.Mechanism = ""
		case "SSL":
			p.Cluster.TLS.Enabled = true
			p.Cluster.SASL.Mechanism = ""
		case "SASL_PLAINTEXT", "SASL_SSL":
			p.Cluster.TLS.Enabled = strings.HasSuffix(strings.ToUpper(v), "SSL")
			if p.Cluster.SASL.Mechanism == "" {
				p.Cluster.SASL.Mechanism = kafka.MechanismPlain // the Java client's default
			}
		default:
			return fmt.Errorf("%q is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", v)
		}
		return nil
	},
	"sasl.mechanism":  setMechanism,
	"sasl.mechanisms": setMechanism,
	"sasl.username":   func(p *Profile, v string) error { p.Cluster.SASL.User = v; return nil },
	"sasl.password":   func(p *Profile, v string) error { p.Cluster.SASL.Password = v; return nil },
	"ssl.ca.location": func(p *Profile, v string) error {
		p.Cluster.TLS.Enabled, p.Cluster.TLS.CAFile = true, v
		return nil
	},
	"ssl.certificate.location": func(p *Profile, v string) error {
		p.Cluster.TLS.Enabled, p.Cluster.TLS.CertFile = true, v
		return nil
	},
	"ssl.key.location": func(p *Profile, v string) error {
		p.Cluster.TLS.Enabled, p.Cluster.TLS.KeyFile = true, v
		return nil
	},
	"enable.ssl.certificate.verification": func(p *Profile, v string) error {
		switch strings.ToLower(v) {
		case "true":
			p.Cluster.TLS.InsecureSkipVerify = false
		case "false":
			p.Cluster.TLS.InsecureSkipVerify = true
		default:
			return fmt.Errorf("%q is not true or false", v)
		}
		return nil
	},
}

// propertyKeys are the profile keys each client property sets, so that a
// problem with one names -X.
var propertyKeys = map[string][]string{
	"security.protocol":                   {"cluster.tls.enabled", "cluster.sasl.mechanism"},
	"sasl.mechanism":                      {"cluster.sasl.mechanism"},
	"sasl.mechanisms":                     {"cluster.sasl.mechanism"},
	"sasl.username":                       {"cluster.sasl.user"},
	"sasl.password":                       {"cluster.sasl.password_env"},
	"ssl.ca.location":                     {"cluster.tls.enabled", "cluster.tls.ca_file"},
	"ssl.certificate.location":            {"cluster.tls.enabled", "cluster.tls.cert_file"},
	"ssl.key.location":                    {"cluster.tls.enabled", "cluster.tls.key_file"},
	"enable.ssl.certificate.verification": {"cluster.tls.insecure_skip_verify"},
}

func setMechanism(p *Profile, v string) error {
	p.Cluster.SASL.Mechanism = strings.ToUpper(v)
	return nil
}

// ClientProperties lists the -X keys the runner understands, sorted.
func ClientProperties() []string {
	keys := make([]string, 0, len(clientProperties))
	for k := range clientProperties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CheckClientProperty fails, as bad usage, when kv is not key=value with a
// key the runner understands.
func CheckClientProperty(kv string) error {
	k, _, ok := strings.Cut(kv, "=")
	if !ok {
		return exitcode.Usagef("-X %s: want key=value, e.g. -X security.protocol=SASL_SSL", kv)
	}
	if _, known := clientProperties[k]; !known {
		return exitcode.Usagef("-X %s: unknown client property %q (known: %s)", kv, k, strings.Join(ClientProperties(), ", "))
	}
	return nil
}

// applySecurity sets what o gives: the -X properties first, then the
// dedicated flags, which win. A property it cannot apply becomes a problem
// that Validate reports with every other one.
func (p *Profile) applySecurity(o SecurityOverrides) {
	for _, kv := range o.Properties {
		k, v, _ := strings.Cut(kv, "=")
		set, ok := clientProperties[k]
		if !ok {
			p.decodeProblems = append(p.decodeProblems, Problem{Flag: "-X", Msg: fmt.Sprintf("unknown client property %q (known: %s)", k, strings.Join(ClientProperties(), ", "))})
			continue
		}
		if err := set(p, v); err != nil {
			p.decodeProblems = append(p.decodeProblems, Problem{Key: k, Flag: "-X", Msg: err.Error()})
		}
		p.setByShort("X", propertyKeys[k]...)
	}
	if o.TLS != nil {
		p.Cluster.TLS.Enabled = *o.TLS
		p.setBy(FlagTLS, "cluster.tls.enabled")
	}
	if o.TLSCA != "" {
		p.Cluster.TLS.Enabled, p.Cluster.TLS.CAFile = true, o.TLSCA
		p.setBy(FlagTLSCA, "cluster.tls.enabled", "cluster.tls.ca_file")
	}
	if o.SASLMechanism != "" {
		p.Cluster.SASL.Mechanism = strings.ToUpper(o.SASLMechanism)
		p.setBy(FlagSASLMechanism, "cluster.sasl.mechanism")
	}
	if o.SASLUser != "" {
		p.Cluster.SASL.User = o.SASLUser
		p.setBy(FlagSASLUser, "cluster.sasl.user")
	}
	if o.PasswordEnv != "" {
		p.Cluster.SASL.PasswordEnv = o.PasswordEnv
		p.Cluster.SASL.Password = "" // the named variable wins over -X sasl.password
		p.setBy(FlagSASLPasswordEnv, "cluster.sasl.password_env")
	}
}

// validateSecurity checks cluster.tls and cluster.sasl.
func (p *Profile) validateSecurity(v *validator) {
	t := p.Cluster.TLS
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify) {
		v.add("cluster.tls.enabled", "is false, but other cluster.tls keys are set: set enabled: true, or remove them")
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		v.add("cluster.tls.cert_file", "cert_file and key_file go together: give both for a client certificate, or neither")
	}
	for _, f := range []struct{ key, path string }{{"cluster.tls.ca_file", t.CAFile}, {"cluster.tls.cert_file", t.CertFile}, {"cluster.tls.key_file", t.KeyFile}} {
		if f.path == "" {
			continue
		}
		if st, err := os.Stat(f.path); err != nil || st.IsDir() {
			v.add(f.key, "%s is not a readable file", f.path)
		}
	}
	s := p.Cluster.SASL
	if !s.Enabled() {
		if s.User != "" || s.PasswordEnv != "" || s.Password != "" {
			v.add("cluster.sasl.mechanism", "must be set (%s) when a SASL user or password is given", strings.Join(kafka.Mechanisms, ", "))
		}
		return
	}
	if !slices.Contains(kafka.Mechanisms, s.Mechanism) {
		v.add("cluster.sasl.mechanism", "%q is not one of %s", s.Mechanism, strings.Join(kafka.Mechanisms, ", "))
	}
	if s.User == "" {
		v.add("cluster.sasl.user", "must be set when cluster.sasl.mechanism is")
	}
	switch {
	case s.PasswordEnv == "" && s.Password == "":
		v.add("cluster.sasl.password_env", "must name the environment variable that holds the password (the password itself never goes in a profile)")
	case s.PasswordEnv != "" && os.Getenv(s.PasswordEnv) == "":
		v.add("cluster.sasl.password_env", "$%s is not set: export the password in it", s.PasswordEnv)
	}
}

// Security loads what cluster.tls and cluster.sasl say into the clients'
// settings: it reads the certificate files and the password's environment
// variable. Errors are bad usage (exit 2).
func (c Cluster) Security() (kafka.Security, error) {
	var sec kafka.Security
	if c.TLS.Enabled {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLS.ServerName, InsecureSkipVerify: c.TLS.InsecureSkipVerify}
		if c.TLS.CAFile != "" {
			pem, err := os.ReadFile(c.TLS.CAFile)
			if err != nil {
				return sec, exitcode.Usagef("cluster.tls.ca_file: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return sec, exitcode.Usagef("cluster.tls.ca_file: %s holds no PEM certificate", c.TLS.CAFile)
			}
			cfg.RootCAs = pool
		}
		if c.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
			if err != nil {
				return sec, exitcode.Usagef("cluster.tls.cert_file and key_file: %v", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		sec.TLS = cfg
	}
	if c.SASL.Enabled() {
		pass := c.SASL.Password
		if c.SASL.PasswordEnv != "" {
			pass = os.Getenv(c.SASL.PasswordEnv)
			if pass == "" {
				return sec, exitcode.Usagef("cluster.sasl.password_env: $%s is not set: export the password in it", c.SASL.PasswordEnv)
			}
		}
		sec.SASL = &kafka.SASL{Mechanism: c.SASL.Mechanism, User: c.SASL.User, Password: pass}
	}
	return sec, nil
}
