// Package yamlfile reads the commands' YAML config files strictly: an
// unknown field is an error naming it and its line, not a silent default.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// Decode reads path into v over the values v already holds.
func Decode(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	// A second document would be read by nobody: say so rather than
	// ignore settings the user believes are in force.
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: more than one YAML document (a line \"---\" starts another): put every setting in the first", path)
	}
	return nil
}
