package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// secureFlags adds to fs the kfake flags of a secured cluster:
//
//	-tls DIR    serve TLS with a certificate of a CA generated for the test;
//	            DIR (in $WORK) gets ca.pem, the CA a client must trust,
//	            other-ca.pem, a CA that did not sign the brokers' certificate,
//	            and client.pem and client-key.pem, a client certificate of the CA
//	-mtls       with -tls: require a client certificate signed by the CA
//	-sasl MECHANISM:USER:PASSWORD
//	            require SASL, with USER a superuser (repeatable)
//
// It returns the kfake options they ask for, once fs has parsed.
func secureFlags(fs *flag.FlagSet, workdir func() string) func() ([]kfake.Opt, error) {
	tlsDir := fs.String("tls", "", "serve TLS; write the CA to DIR/ca.pem")
	mtls := fs.Bool("mtls", false, "with -tls: require a client certificate signed by the CA")
	var sasls []string
	fs.Func("sasl", "MECHANISM:USER:PASSWORD: require SASL", func(s string) error {
		if strings.Count(s, ":") < 2 {
			return fmt.Errorf("-sasl %s: want MECHANISM:USER:PASSWORD", s)
		}
		sasls = append(sasls, s)
		return nil
	})
	return func() ([]kfake.Opt, error) {
		var opts []kfake.Opt
		if *tlsDir != "" {
			dir := filepath.Join(workdir(), *tlsDir)
			cfg, err := testCA(dir, *mtls)
			if err != nil {
				return nil, err
			}
			opts = append(opts, kfake.TLS(cfg))
		}
		if len(sasls) > 0 {
			opts = append(opts, kfake.EnableSASL())
			for _, s := range sasls {
				parts := strings.SplitN(s, ":", 3)
				opts = append(opts, kfake.Superuser(parts[0], parts[1], parts[2]))
			}
		}
		return opts, nil
	}
}

// testCA generates a CA and a server certificate for 127.0.0.1 signed by
// it, writes the CA to dir/ca.pem (and an unrelated CA to dir/other-ca.pem)
// and a client certificate of the CA to dir/client.pem and
// dir/client-key.pem, and returns the server's TLS config; with mutual, the
// server requires a client certificate of the CA.
func testCA(dir string, mutual bool) (*tls.Config, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	caKey, caCert, caDER, err := newCA("chronik-e2e test CA")
	if err != nil {
		return nil, err
	}
	_, _, otherDER, err := newCA("a CA nobody trusts")
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "broker"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "e2e client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, caCert, &clientKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	clientKeyDER, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		return nil, err
	}
	for name, blk := range map[string]*pem.Block{
		"ca.pem":         {Type: "CERTIFICATE", Bytes: caDER},
		"other-ca.pem":   {Type: "CERTIFICATE", Bytes: otherDER},
		"client.pem":     {Type: "CERTIFICATE", Bytes: clientDER},
		"client-key.pem": {Type: "EC PRIVATE KEY", Bytes: clientKeyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(blk), 0o600); err != nil {
			return nil, err
		}
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	if mutual {
		pool := x509.NewCertPool()
		pool.AddCert(caCert)
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	return cfg, nil
}

func newCA(name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, der, err
}
