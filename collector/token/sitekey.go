package token

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// EnvSiteKey is the environment variable that holds the site key in hex.
const EnvSiteKey = "MCPTRAIL_SITE_KEY"

// maxKeyFile bounds what is read of a key file.
const maxKeyFile = 64 << 10

// MinKeySize is the smallest site key accepted, in bytes.
const MinKeySize = 32

// LoadSiteKey returns the site key and where it came from. The environment
// variable MCPTRAIL_SITE_KEY (hex) beats the key file: when it is set the
// file is neither read nor created; otherwise the key comes from
// LoadOrCreateSiteKey(path).
func LoadSiteKey(path string) (key []byte, source string, err error) {
	key, ok, err := SiteKeyFromEnv()
	if err != nil {
		return nil, "", err
	}
	if ok {
		return key, "env " + EnvSiteKey, nil
	}
	key, err = LoadOrCreateSiteKey(path)
	if err != nil {
		return nil, "", err
	}
	return key, "file " + path, nil
}

// SiteKeyFromEnv reads the site key from MCPTRAIL_SITE_KEY (hex, at least
// 32 bytes). ok is false when the variable is unset or empty.
func SiteKeyFromEnv() (key []byte, ok bool, err error) {
	v := os.Getenv(EnvSiteKey)
	if v == "" {
		return nil, false, nil
	}
	key, err = decodeHexKey([]byte(v))
	if err != nil {
		return nil, false, fmt.Errorf("site key from %s: %w", EnvSiteKey, err)
	}
	return key, true, nil
}

// LoadOrCreateSiteKey reads the site key file at path: either raw bytes (at
// least 32) or their hex encoding. When the file does not exist it is
// created with 32 random bytes, written in hex, mode 0600, in a directory
// made with mode 0700 if missing. A key file that group or others may
// read or write is refused.
func LoadOrCreateSiteKey(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("site key: no key file path")
	}
	key, err := readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("site key: create directory: %w", err)
	}
	fresh := make([]byte, MinKeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("site key: random bytes: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first: use theirs.
		return readKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("site key: create %s: %w", path, err)
	}
	_, werr := f.Write([]byte(hex.EncodeToString(fresh) + "\n"))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("site key: write %s: %w", path, err)
	}
	return fresh, nil
}

// readKeyFile reads and checks an existing key file.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("site key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("site key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("site key: %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("site key: %s is accessible by group or others (mode %04o); run chmod 600 %s", path, perm, path)
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("site key: read %s: %w", path, err)
	}
	if len(buf) > maxKeyFile {
		return nil, fmt.Errorf("site key: %s is larger than %d bytes", path, maxKeyFile)
	}
	return parseKey(path, buf)
}

// parseKey reads a key file's content: hex when it is all hex digits
// (surrounding white space ignored), raw bytes otherwise.
func parseKey(path string, content []byte) ([]byte, error) {
	if t := bytes.TrimSpace(content); isHex(t) {
		key, err := decodeHexKey(t)
		if err != nil {
			return nil, fmt.Errorf("site key: %s: %w", path, err)
		}
		return key, nil
	}
	if len(content) < MinKeySize {
		return nil, fmt.Errorf("site key: %s holds %d bytes; need at least %d", path, len(content), MinKeySize)
	}
	return content, nil
}

// decodeHexKey decodes a hex key of at least MinKeySize bytes. Its errors
// never quote the key.
func decodeHexKey(s []byte) ([]byte, error) {
	s = bytes.TrimSpace(s)
	if !isHex(s) || len(s)%2 != 0 {
		return nil, errors.New("not an even number of hex digits")
	}
	key := make([]byte, len(s)/2)
	if _, err := hex.Decode(key, s); err != nil {
		return nil, errors.New("not valid hex")
	}
	if len(key) < MinKeySize {
		return nil, fmt.Errorf("key is %d bytes; need at least %d", len(key), MinKeySize)
	}
	return key, nil
}

func isHex(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
