package schemas

import (
	"fmt"
	"strings"
)

// FieldError is a problem with one field of a record, before the reader
// adds the line it was found on.
type FieldError struct {
	Field  string
	Kind   ErrorKind
	Reason string
}

// Error formats the error as "field F: reason".
func (e *FieldError) Error() string {
	return fmt.Sprintf("field %q: %s", e.Field, e.Reason)
}

func missing(field string) *FieldError {
	return &FieldError{Field: field, Kind: ErrMissingField, Reason: "required field is missing or empty"}
}

func invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Kind: ErrInvalidValue, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks the rules of the capture format that the JSON types alone
// do not: required fields, the format version, and the allowed values of
// transport, dir, token kind and auth type. It returns the first problem as
// a *FieldError, or nil.
func (r *Record) Validate() error {
	switch {
	case r.V == 0:
		return missing("v")
	case r.V != FormatVersion:
		return invalid("v", "format version %d is not supported (want %d)", r.V, FormatVersion)
	case r.TS.IsZero():
		return missing("ts")
	case r.Host == "":
		return missing("host")
	case r.Session == "":
		return missing("session")
	case r.Server.Name == "":
		return missing("server.name")
	case r.Transport == "":
		return missing("transport")
	case !r.Transport.Valid():
		return invalid("transport", "unknown transport %q (want stdio, streamable-http or sse)", r.Transport)
	case r.Dir == "":
		return missing("dir")
	case !r.Dir.Valid():
		return invalid("dir", "unknown direction %q (want c2s or s2c)", r.Dir)
	case len(r.Msg) == 0 && r.HTTP == nil && r.Auth == nil && r.ParseError == nil:
		return missing("msg")
	}
	if len(r.Msg) > 0 {
		if k := r.Msg.Kind(); k != '{' && k != '[' {
			return &FieldError{Field: "msg", Kind: ErrWrongType, Reason: "must be a JSON-RPC message object or a batch array"}
		}
	}
	if r.Seq != 0 || r.Chain != "" {
		switch {
		case r.Stream == "":
			return missing("stream")
		case r.Seq == 0:
			return missing("seq")
		case !isSHA256Hex(r.Chain):
			return invalid("chain", "must be 64 lowercase hex digits (a SHA-256)")
		}
	}
	if r.ParseError != nil && r.ParseError.Reason == "" {
		return missing("parse_error.reason")
	}
	if r.HTTP != nil {
		for name := range r.HTTP.Headers {
			if strings.EqualFold(name, "authorization") {
				return invalid("http.headers."+name, "a raw authorization header must never be recorded (record a token fingerprint instead)")
			}
		}
	}
	if r.Token != nil {
		if err := r.Token.validate("token"); err != nil {
			return err
		}
	}
	if r.Auth != nil {
		switch r.Auth.Type {
		case "":
			return missing("auth.type")
		case AuthAuthorizationRequest, AuthTokenRequest, AuthTokenResponse, AuthMetadata, AuthRegistration:
		default:
			return invalid("auth.type", "unknown auth event type %q", r.Auth.Type)
		}
		if r.Auth.Token != nil {
			if err := r.Auth.Token.validate("auth.token"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *Token) validate(path string) *FieldError {
	if t.FP == "" {
		return missing(path + ".fp")
	}
	switch t.Kind {
	case "", TokenJWT, TokenOpaque:
		return nil
	}
	return invalid(path+".kind", "unknown token kind %q (want jwt or opaque)", t.Kind)
}
