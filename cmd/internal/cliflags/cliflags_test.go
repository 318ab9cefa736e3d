package cliflags

import (
	"io"
	"strings"
	"testing"
)

type config struct{ Listen, S3, Data string }

func parse(t *testing.T, args ...string) (config, string, error) {
	t.Helper()
	cfg := config{Listen: ":8080", S3: ":9000", Data: "./data"}
	s := New("test", "config file", io.Discard)
	s.String("listen", "", &cfg.Listen)
	s.StringOrNone("s3", "", &cfg.S3)
	s.String("data", "", &cfg.Data)
	path, err := s.Parse(args, func(string) error {
		cfg.Listen, cfg.Data = ":1111", "/from/file" // what a file would set
		return nil
	})
	return cfg, path, err
}

func TestFlagsOverTheFileOverTheDefaults(t *testing.T) {
	cfg, path, err := parse(t)
	if err != nil || path != "" || cfg != (config{":8080", ":9000", "./data"}) {
		t.Fatalf("no flags: %+v %q %v, want the defaults", cfg, path, err)
	}
	cfg, path, err = parse(t, "-config", "edge.yaml", "-listen", ":2222")
	if err != nil || path != "edge.yaml" || cfg != (config{":2222", ":9000", "/from/file"}) {
		t.Fatalf("file and flag: %+v %q %v, want the flag over the file over the defaults", cfg, path, err)
	}
}

// An empty value leaves a field alone, except where empty means none.
func TestEmptyValues(t *testing.T) {
	cfg, _, err := parse(t, "-listen", "", "-s3", "")
	if err != nil || cfg.Listen != ":8080" || cfg.S3 != "" {
		t.Fatalf("-listen '' -s3 '': %+v %v, want listen kept and s3 none", cfg, err)
	}
}

func TestUnknownFlagIsAnError(t *testing.T) {
	if _, _, err := parse(t, "-lisen", ":1"); err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Fatalf("a misspelt flag: %v, want an error naming it", err)
	}
}
