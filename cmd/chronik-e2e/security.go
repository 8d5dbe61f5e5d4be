package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// addSecurityFlags registers the flags that reach a secured cluster: TLS,
// SASL, and kcat's -X client properties.
func addSecurityFlags(cmd *cobra.Command, o *profile.SecurityOverrides) {
	f := cmd.Flags()
	f.Bool(profile.FlagTLS, false, "connect with TLS (cluster.tls.enabled)")
	f.StringVar(&o.TLSCA, profile.FlagTLSCA, "", "trust the CA certificates in this PEM file (cluster.tls.ca_file; implies --tls)")
	f.StringVar(&o.SASLMechanism, profile.FlagSASLMechanism, "", "authenticate with SASL: "+strings.Join(kafka.Mechanisms, ", ")+" (cluster.sasl.mechanism)")
	f.StringVar(&o.SASLUser, profile.FlagSASLUser, "", "SASL user (cluster.sasl.user)")
	f.StringVar(&o.PasswordEnv, profile.FlagSASLPasswordEnv, "", "environment variable that holds the SASL password (cluster.sasl.password_env)")
	f.StringArrayVarP(&o.Properties, profile.FlagClientProperty, "X", nil,
		"client property key=value, as kcat takes it (repeatable): "+strings.Join(profile.ClientProperties(), ", "))
}

// readSecurityFlags finishes reading the security flags into o and checks
// the -X properties, as bad usage.
func readSecurityFlags(cmd *cobra.Command, o *profile.SecurityOverrides) error {
	if cmd.Flags().Changed(profile.FlagTLS) {
		v, _ := cmd.Flags().GetBool(profile.FlagTLS)
		o.TLS = &v
	}
	for _, kv := range o.Properties {
		if err := profile.CheckClientProperty(kv); err != nil {
			return err
		}
	}
	return nil
}
