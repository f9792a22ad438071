// Package textscan holds the text analyses the detector's rules share:
// walking the strings of a JSON value, finding hidden characters, scoring
// text for instructions aimed at a language model, extracting the concrete
// values (addresses, URLs, accounts, numbers) a later call could carry, and
// spotting secrets and encoded payloads. Every function is pure and safe for
// concurrent use; none knows any tool, server or account by name.
package textscan
