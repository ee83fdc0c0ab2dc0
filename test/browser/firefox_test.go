package browser

import "testing"

// The modern client's scenarios in Firefox ESR, driven over WebDriver BiDi
// (internal/testutil/bidi). Each starts its own browser and server: they
// need nothing the package does not start.

func TestModernTabsShareOnePollFirefox(t *testing.T) { scenarioTabsShareOnePoll(t, firefox(t)) }
func TestModernLeaderClosedFirefox(t *testing.T)     { scenarioLeaderClosed(t, firefox(t)) }
func TestModernCancelFirefox(t *testing.T)           { scenarioCancelEverywhere(t, firefox(t)) }
func TestModernServerRestartFirefox(t *testing.T)    { scenarioServerRestart(t, firefox(t)) }
func TestModernRetryAfterFirefox(t *testing.T)       { scenarioRetryAfter(t, firefox(t)) }
func TestModernSessionErrorFirefox(t *testing.T)     { scenarioSessionWithoutClient(t, firefox(t)) }
func TestModernNoSharingFirefox(t *testing.T)        { scenarioNoSharing(t, firefox(t)) }
func TestModernBFCacheFirefox(t *testing.T)          { scenarioBFCache(t, firefox(t)) }
