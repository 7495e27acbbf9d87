//go:build !(amd64 || arm64) || purego

package kernels

// TokenLanes: no token-lane kernels here.
func TokenLanes(string, Type) bool { return false }

// initLanes: nothing to set up without the token-lane kernel.
func (c *Context) initLanes() {}

// lanesSetup: no token-lane prefill kernels on this platform.
func (c *Context) lanesSetup(Matrix, int) int { return 0 }

// lanesRun is never reached where lanesSetup returns 0.
func (c *Context) lanesRun(g, r0, r1 int) {
	panic("kernels: token-lane kernel called on a platform without it")
}
