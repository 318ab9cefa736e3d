// Package cliflags reads a command's flags over its config file, the same
// way for every command: -config names a YAML file read strictly over the
// defaults, then each flag given non-empty replaces its field.
package cliflags

import (
	"flag"
	"io"
)

// A Set is a command's flags.
type Set struct {
	fs     *flag.FlagSet
	config *string
	apply  []func()
}

// New is the flag set of the command name, with -config; usage says what
// the file holds. Errors and -help go to stderr.
func New(name, usage string, stderr io.Writer) *Set {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &Set{fs: fs, config: fs.String("config", "", usage)}
}

// String defines a flag that, given non-empty, replaces *field.
func (s *Set) String(name, usage string, field *string) {
	v := s.fs.String(name, "", usage)
	s.apply = append(s.apply, func() {
		if *v != "" {
			*field = *v
		}
	})
}

// StringOrNone is String for a field where "" means "none" (an address
// not to serve): given at all, even empty, it replaces *field.
func (s *Set) StringOrNone(name, usage string, field *string) {
	v := s.fs.String(name, "", usage)
	s.apply = append(s.apply, func() {
		s.fs.Visit(func(f *flag.Flag) {
			if f.Name == name {
				*field = *v
			}
		})
	})
}

// Parse reads args; when -config is given it calls load with the path
// (which decodes the file over the defaults), then applies the flags given.
// It returns the config path, "" for none.
func (s *Set) Parse(args []string, load func(path string) error) (string, error) {
	if err := s.fs.Parse(args); err != nil {
		return "", err
	}
	if *s.config != "" {
		if err := load(*s.config); err != nil {
			return "", err
		}
	}
	for _, f := range s.apply {
		f()
	}
	return *s.config, nil
}
