package webui

import "github.com/modelwatch/modelwatch/internal/webui/webuitest"

// The browser checks live in package webuitest, shared with the server's
// full-stack test; these names keep this package's tests short.
type (
	dashboardChecks = webuitest.Checks
	pageState       = webuitest.PageState
)

var (
	checkDashboard = webuitest.Check
	newBrowser     = webuitest.NewBrowser
	screenshotDir  = webuitest.ScreenshotDir
	waitReady      = webuitest.WaitReady
	goTo           = webuitest.GoTo
	readPage       = webuitest.ReadPage
	screenshot     = webuitest.Screenshot
)
