package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms the runner's clients speak.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

// Mechanisms lists the SASL mechanisms in the order help texts give them.
var Mechanisms = []string{MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512}

// Security is how the runner's clients reach a secured cluster: TLS, SASL,
// both or neither. The zero value is plaintext without authentication.
type Security struct {
	// TLS, when set, encrypts every connection with this client config.
	TLS *tls.Config
	// SASL, when set, authenticates every connection.
	SASL *SASL
}

// SASL is a user's SASL credentials.
type SASL struct {
	Mechanism string // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	User      string
	Password  string
}

// Secure applies s to cfg: every config the runner builds with Config gets
// it before a client uses it.
func Secure(cfg *sarama.Config, s Security) {
	if s.TLS != nil {
		cfg.Net.TLS.Enable = true
		cfg.Net.TLS.Config = s.TLS.Clone()
	}
	if s.SASL == nil {
		return
	}
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Handshake = true
	cfg.Net.SASL.Version = sarama.SASLHandshakeV1
	cfg.Net.SASL.User = s.SASL.User
	cfg.Net.SASL.Password = s.SASL.Password
	switch s.SASL.Mechanism {
	case MechanismSCRAMSHA256:
		cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{sha512: false} }
	case MechanismSCRAMSHA512:
		cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{sha512: true} }
	default:
		cfg.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	}
}

// scramClient is sarama's SCRAM conversation, spoken by franz-go's SCRAM
// implementation (a module the runner already depends on).
type scramClient struct {
	sha512 bool
	sess   sasl.Session
	first  []byte
	done   bool
}

func (c *scramClient) Begin(user, password, authzID string) error {
	auth := scram.Auth{User: user, Pass: password, Zid: authzID}
	m := auth.AsSha256Mechanism()
	if c.sha512 {
		m = auth.AsSha512Mechanism()
	}
	sess, first, err := m.Authenticate(context.Background(), "")
	c.sess, c.first = sess, first
	return err
}

func (c *scramClient) Step(challenge string) (string, error) {
	if challenge == "" && c.first != nil { // sarama asks for the client's first message
		first := c.first
		c.first = nil
		return string(first), nil
	}
	done, resp, err := c.sess.Challenge([]byte(challenge))
	if err != nil {
		return "", err
	}
	c.done = done
	return string(resp), nil
}

func (c *scramClient) Done() bool { return c.done }

// ErrSASLClosed is a connection the broker closed during SASL
// authentication without saying why; brokers (kfake among them) do so when
// the user or password is wrong.
var ErrSASLClosed = errors.New("the broker closed the connection during SASL authentication")

// ConnectError explains err, the error of a connection opened with cfg that
// failed before its first request: an EOF while SASL is on is the broker
// closing the connection during authentication.
func ConnectError(cfg *sarama.Config, err error) error {
	if err != nil && cfg.Net.SASL.Enable && errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %w", ErrSASLClosed, err)
	}
	return err
}

// AuthFailure returns why err is a failure that trying again cannot mend
// (a rejected password, a certificate the client does not trust, a
// mechanism the broker does not speak), or "" when it is not one.
func AuthFailure(err error) string {
	if err == nil {
		return ""
	}
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var kerr sarama.KError
	switch {
	case errors.As(err, &unknownCA):
		return "the broker's certificate is not signed by a CA the client trusts (give the CA with cluster.tls.ca_file or --tls-ca)"
	case errors.As(err, &hostname):
		return "the broker's certificate is not for this address (cluster.tls.server_name names the host it is for)"
	case errors.As(err, &invalid), errors.As(err, &verify):
		return "the broker's certificate did not verify"
	case errors.As(err, &kerr) && kerr == sarama.ErrSASLAuthenticationFailed:
		return "the broker rejected the SASL user or password"
	case errors.Is(err, ErrSASLClosed):
		return "the broker rejected the SASL user or password"
	case errors.As(err, &kerr) && kerr == sarama.ErrUnsupportedSASLMechanism:
		return "the broker does not offer this SASL mechanism"
	case errors.As(err, &kerr) && kerr == sarama.ErrIllegalSASLState:
		return "the broker did not expect SASL here (is SASL enabled on this listener?)"
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "SASL Authentication failed"), strings.Contains(msg, "invalid server final message"):
		return "the broker rejected the SASL user or password"
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return "the broker does not speak TLS on this port (turn cluster.tls off, or use the TLS listener's port)"
	case strings.Contains(msg, "tls: certificate required"):
		return "the broker requires a client certificate (cluster.tls.cert_file and key_file, or -X ssl.certificate.location and ssl.key.location)"
	case strings.Contains(msg, "tls: bad certificate"), strings.Contains(msg, "tls: unknown certificate authority"):
		return "the broker rejected the client certificate"
	case strings.Contains(msg, "tls: "):
		return "the TLS handshake with the broker failed"
	}
	return ""
}

// Describe says in a few words how s connects, for reports: "TLS, SASL
// SCRAM-SHA-256 as e2e"; "plaintext" for the zero value. It never includes
// the password.
func (s Security) Describe() string {
	var parts []string
	if s.TLS != nil {
		t := "TLS"
		if s.TLS.InsecureSkipVerify {
			t += " (certificate not verified)"
		}
		parts = append(parts, t)
	}
	if s.SASL != nil {
		parts = append(parts, fmt.Sprintf("SASL %s as %s", s.SASL.Mechanism, s.SASL.User))
	}
	if len(parts) == 0 {
		return "plaintext"
	}
	return strings.Join(parts, ", ")
}
