// Run by tests/browser_pages.rs, which starts the app, its relay and the payment
// simulator and passes their addresses: BASE_URL, SIM_URL, ADMIN_TOKEN, ARTIFACTS_DIR.
// Debian's Chromium (CHROMIUM, default /usr/bin/chromium): Playwright never downloads a
// browser here. Phone-sized viewport: every page must work at 375 px.
import { defineConfig } from "@playwright/test";

const artifacts = process.env.ARTIFACTS_DIR || "test-results";

export default defineConfig({
  testDir: ".",
  testMatch: "*.spec.mjs",
  workers: 1,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  outputDir: `${artifacts}/results`,
  reporter: [["list"], ["html", { outputFolder: `${artifacts}/report`, open: "never" }]],
  use: {
    baseURL: process.env.BASE_URL,
    viewport: { width: 375, height: 812 },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      // Chromium's own background traffic has nowhere to go on this closed network.
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
});
