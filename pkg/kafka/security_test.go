package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

func TestSecure(t *testing.T) {
	cfg, err := Config("3.6.0")
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{ServerName: "broker"}
	Secure(cfg, Security{TLS: tc, SASL: &SASL{Mechanism: MechanismSCRAMSHA512, User: "u", Password: "p"}})
	if !cfg.Net.TLS.Enable || cfg.Net.TLS.Config.ServerName != "broker" || cfg.Net.TLS.Config == tc {
		t.Errorf("TLS not enabled with a copy of the config: %+v", cfg.Net.TLS)
	}
	s := cfg.Net.SASL
	if !s.Enable || s.Mechanism != sarama.SASLTypeSCRAMSHA512 || s.User != "u" || s.Password != "p" || s.SCRAMClientGeneratorFunc == nil {
		t.Errorf("SASL = %+v", s)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("sarama rejects the config: %v", err)
	}

	plain, _ := Config("3.6.0")
	Secure(plain, Security{})
	if plain.Net.TLS.Enable || plain.Net.SASL.Enable {
		t.Error("the zero Security turned TLS or SASL on")
	}
}

func TestAuthFailure(t *testing.T) {
	tests := []struct {
		err  error
		want string // a part of the reason; "" for none
	}{
		{nil, ""},
		{io.EOF, ""},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), ""},
		{fmt.Errorf("tls: failed to verify certificate: %w", x509.UnknownAuthorityError{}), "not signed by a CA the client trusts"},
		{fmt.Errorf("x: %w", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}), "not for this address"},
		{sarama.ErrSASLAuthenticationFailed, "rejected the SASL user or password"},
		{fmt.Errorf("%w: %w", ErrSASLClosed, io.EOF), "rejected the SASL user or password"},
		{sarama.ErrUnsupportedSASLMechanism, "does not offer this SASL mechanism"},
		{errors.New("tls: first record does not look like a TLS handshake"), "does not speak TLS"},
		{errors.New("remote error: tls: certificate required"), "requires a client certificate"},
	}
	for _, tt := range tests {
		got := AuthFailure(tt.err)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("AuthFailure(%v) = %q, want one with %q", tt.err, got, tt.want)
		}
	}
}

func TestConnectError(t *testing.T) {
	cfg, _ := Config("3.6.0")
	if err := ConnectError(cfg, io.EOF); errors.Is(err, ErrSASLClosed) {
		t.Error("an EOF without SASL is said to be SASL's")
	}
	Secure(cfg, Security{SASL: &SASL{Mechanism: MechanismPlain, User: "u", Password: "p"}})
	if err := ConnectError(cfg, io.EOF); !errors.Is(err, ErrSASLClosed) || !errors.Is(err, io.EOF) {
		t.Errorf("ConnectError = %v, want ErrSASLClosed wrapping EOF", err)
	}
}

func TestDescribeNeverShowsPassword(t *testing.T) {
	s := Security{TLS: &tls.Config{InsecureSkipVerify: true}, SASL: &SASL{Mechanism: MechanismPlain, User: "e2e", Password: "hunter2"}}
	got := s.Describe()
	if want := "TLS (certificate not verified), SASL PLAIN as e2e"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if (Security{}).Describe() != "plaintext" {
		t.Errorf("zero Describe = %q", (Security{}).Describe())
	}
}
