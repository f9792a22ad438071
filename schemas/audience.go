package schemas

import (
	"errors"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Audience is a JWT "aud" claim. RFC 7519 allows a single string or an
// array of strings; both decode into Audience, and one audience encodes as
// a plain string.
type Audience []string

// MarshalJSONTo encodes a single audience as a string, several as an array.
func (a Audience) MarshalJSONTo(enc *jsontext.Encoder) error {
	if len(a) == 1 {
		return enc.WriteToken(jsontext.String(a[0]))
	}
	return json.MarshalEncode(enc, []string(a))
}

// UnmarshalJSONFrom decodes a string or an array of strings.
func (a *Audience) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*a = Audience{tok.String()}
		return nil
	case '[':
		var list []string
		if err := json.UnmarshalDecode(dec, &list); err != nil {
			return err
		}
		*a = list
		return nil
	case 'n':
		_, err := dec.ReadToken()
		*a = nil
		return err
	default:
		kind := dec.PeekKind()
		if _, err := dec.ReadValue(); err != nil {
			return err
		}
		return &json.SemanticError{JSONKind: kind, Err: errors.New("audience must be a string or an array of strings")}
	}
}
