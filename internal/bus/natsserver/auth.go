package natsserver

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// setAuth configures the authentication of cfg in opts: none, a token, a
// user and password, nkey users (with or without that user), or an
// operator with its accounts (decentralized JWT authentication).
func (cfg *Config) setAuth(opts *server.Options) error {
	if cfg.Token != "" && cfg.User != "" {
		return errors.New("natsserver: takes a token or a user, not both")
	}
	if cfg.User != "" && cfg.Password == "" {
		return errors.New("natsserver: user needs a password")
	}
	if cfg.OperatorJWTFile != "" {
		if cfg.Token != "" || cfg.User != "" || len(cfg.NKeyUsers) > 0 {
			return errors.New("natsserver: an operator (JWT authentication) excludes a token, a user and nkey users")
		}
		return cfg.setOperator(opts)
	}
	if len(cfg.AccountJWTFiles) > 0 {
		return errors.New("natsserver: account JWTs need an operator JWT")
	}
	if len(cfg.NKeyUsers) == 0 {
		opts.Authorization, opts.Username, opts.Password = cfg.Token, cfg.User, cfg.Password
		return nil
	}
	if cfg.Token != "" {
		return errors.New("natsserver: takes a token or nkey users, not both")
	}
	for i, k := range cfg.NKeyUsers {
		if !nkeys.IsValidPublicUserKey(k) {
			if strings.HasPrefix(k, "S") { // a seed: never repeat it
				return fmt.Errorf("natsserver: nkey user %d is a seed, not a public key: give the public key (U…) and keep the seed with the client", i+1)
			}
			return fmt.Errorf("natsserver: nkey user %q is not a public user nkey (U…)", k)
		}
		opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: k})
	}
	// With nkey users the server ignores Username and Password: the user
	// joins the user list instead.
	if cfg.User != "" {
		opts.Users = []*server.User{{Username: cfg.User, Password: cfg.Password}}
	}
	return nil
}

// setOperator trusts the operator of cfg and serves its accounts from a
// memory resolver.
func (cfg *Config) setOperator(opts *server.Options) error {
	op, err := server.ReadOperatorJWT(cfg.OperatorJWTFile)
	if err != nil {
		return fmt.Errorf("natsserver: operator JWT %s: %w", cfg.OperatorJWTFile, err)
	}
	if op.SystemAccount == "" {
		return fmt.Errorf("natsserver: operator JWT %s names no system account", cfg.OperatorJWTFile)
	}
	resolver := &server.MemAccResolver{}
	var accounts []string
	for _, file := range cfg.AccountJWTFiles {
		raw, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("natsserver: account JWT: %w", err)
		}
		token, err := jwt.ParseDecoratedJWT(raw)
		if err != nil {
			return fmt.Errorf("natsserver: account JWT %s: %w", file, err)
		}
		ac, err := jwt.DecodeAccountClaims(token)
		if err != nil {
			return fmt.Errorf("natsserver: account JWT %s: %w", file, err)
		}
		if ac.Issuer != op.Subject && !op.SigningKeys.Contains(ac.Issuer) {
			return fmt.Errorf("natsserver: account JWT %s (account %s) is not signed by operator %s of %s",
				file, ac.Subject, op.Subject, cfg.OperatorJWTFile)
		}
		if err := resolver.Store(ac.Subject, token); err != nil {
			return fmt.Errorf("natsserver: account JWT %s: %w", file, err)
		}
		accounts = append(accounts, ac.Subject)
	}
	if !slices.Contains(accounts, op.SystemAccount) {
		return fmt.Errorf("natsserver: no account JWT for the system account %s of operator %s", op.SystemAccount, cfg.OperatorJWTFile)
	}
	opts.TrustedOperators = []*jwt.OperatorClaims{op}
	opts.SystemAccount = op.SystemAccount
	opts.AccountResolver = resolver
	return nil
}
