// Headless Debian Chromium through playwright-core, as the browser tests
// (chat_browser.mjs, legacy_browser.mjs) launch it.

import { chromium } from "playwright-core";

export function launchChromium(executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 15000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
