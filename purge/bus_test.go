package purge_test

import (
	"testing"

	"github.com/edgecdn/edge/purge"
	"github.com/edgecdn/edge/purge/bustest"
)

func TestLocalBusConformance(t *testing.T) {
	bustest.Run(t, func(*testing.T) purge.Bus { return purge.NewLocal() })
}
