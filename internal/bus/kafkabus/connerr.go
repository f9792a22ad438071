package kafkabus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"

	"github.com/mcptrail/mcptrail/internal/bus"
)

// connectError describes err, from a request to the brokers, as Open
// reports it. The brokers rejecting the client's SASL credentials or the
// TLS handshake failing are configuration errors, reported as such and not
// as bus.ErrUnavailable: retrying does not help, and "unreachable" would
// send the operator looking in the wrong place. Everything else means the
// brokers could not be reached.
func connectError(brokers string, err error) error {
	switch {
	case isSASLError(err):
		return fmt.Errorf("kafkabus: SASL authentication to brokers %s failed (check the SASL mechanism, user and password): %w", brokers, err)
	case isTLSError(err):
		return fmt.Errorf("kafkabus: TLS handshake with brokers %s failed: %w", brokers, err)
	}
	return fmt.Errorf("kafkabus: brokers %s unreachable: %w: %w", brokers, bus.ErrUnavailable, err)
}

// isSASLError reports whether the brokers rejected the SASL exchange: bad
// credentials, or a mechanism the listener does not enable.
func isSASLError(err error) bool {
	return errors.Is(err, kafka.SASLAuthenticationFailed) ||
		errors.Is(err, kafka.UnsupportedSASLMechanism) ||
		errors.Is(err, kafka.IllegalSASLState)
}

// isTLSError reports whether err is a failed TLS handshake: a server
// certificate that does not verify, an alert from the server (say, it
// wants a client certificate), or a listener that does not speak TLS.
func isTLSError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		alert    tls.AlertError
		record   tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) ||
		errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &alert) || errors.As(err, &record)
}
