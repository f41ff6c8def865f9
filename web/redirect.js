// The redirect bridge's one call, in a file of its own: the page's policy allows no inline script.
'use strict';
/* global msalRedirectBridge -- MSAL's redirect bridge, vendor/msal-redirect-bridge.js */

msalRedirectBridge.broadcastResponseToMainFrame().catch((error) => {
  document.body.textContent = `Sign-in failed: ${error.message}`;
});
