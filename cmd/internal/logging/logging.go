// Package logging builds the commands' zap logger: JSON lines (or console
// text for a terminal), leveled with a level that can change while the
// process runs, sampled so a flood of one message cannot drown the rest.
package logging

import (
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a logger writing to w at level ("debug", "info", "warn",
// "error") in format ("json", the default, or "console"), keeping the
// first 100 copies of a message each second and one in 100 after that;
// and the level, which serves GET and PUT {"level":"debug"} over HTTP
// (the admin port's /loglevel).
func New(level, format string, w io.Writer) (*zap.Logger, zap.AtomicLevel, error) {
	lvl, err := zap.ParseAtomicLevel(level)
	if err != nil {
		return nil, lvl, fmt.Errorf("config: log_level %q: use debug, info, warn or error", level)
	}
	var enc zapcore.Encoder
	switch format {
	case "", "json":
		enc = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	case "console":
		enc = zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
	default:
		return nil, lvl, fmt.Errorf("config: log_format %q: use json (production) or console (a terminal)", format)
	}
	// Lock: the background goroutines (purge bus, publishers) log at the
	// same time as requests, and w need not be safe for that.
	core := zapcore.NewSamplerWithOptions(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl), time.Second, 100, 100)
	return zap.New(core), lvl, nil
}
