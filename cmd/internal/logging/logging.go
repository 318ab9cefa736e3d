// Package logging builds the commands' zap logger: JSON lines, leveled,
// sampled so a flood of one message cannot drown the rest.
package logging

import (
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a logger writing to w at level ("debug", "info", "warn",
// "error"), keeping the first 100 copies of a message each second and one
// in 100 after that.
func New(level string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("config: log_level %q: use debug, info, warn or error", level)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	// Lock: the background goroutines (purge bus, publishers) log at the
	// same time as requests, and w need not be safe for that.
	core := zapcore.NewSamplerWithOptions(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl), time.Second, 100, 100)
	return zap.New(core), nil
}
