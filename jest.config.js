/**
 * Jest runs TypeScript through ts-jest in transpile-only mode; `npm run typecheck` checks types.
 * Two projects (tools/test-tiers.js decides by what a test starts): `unit` (in-process, seconds;
 * `npm run test:unit`) and `integration` (real Redis, s3rver, LanceDB, processes and ports;
 * `npm run test:integration`). `npm test` runs both, then the engine matrix.
 */
const { tiers } = require("./tools/test-tiers");

const { unit, integration } = tiers(__dirname);

const common = {
  testEnvironment: "node",
  rootDir: __dirname,
  roots: ["<rootDir>"],
  // test/image/ runs the built jobs image in a Docker engine: `npm run image:test` builds the image and
  // runs them (HOLDFAST_IMAGE_TEST=1); every other run leaves them out.
  testPathIgnorePatterns: [
    "/node_modules/",
    "/dist/",
    ...(process.env.HOLDFAST_IMAGE_TEST === "1" ? [] : ["/test/image/"]),
  ],
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  // HOLDFAST_TEST_ENGINE=redis7|redis8|valkey8 picks the Redis engine every test runs (harness/engine.ts).
  globalSetup: "<rootDir>/test/support/global-setup.ts",
};

/** Exact paths as regular expressions. */
const exactly = (files) => files.map((f) => `^${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);

module.exports = {
  testTimeout: 60000,
  // The longest files first, also in a fresh clone where Jest has no timings of its own (tools/test-order.js).
  testSequencer: "<rootDir>/tools/test-order.js",
  projects: [
    {
      ...common,
      displayName: "unit",
      testRegex: exactly(unit),
      setupFilesAfterEnv: ["<rootDir>/test/support/unit-guard.ts"],
    },
    {
      ...common,
      displayName: "integration",
      testRegex: exactly(integration),
      // Also compiles the holdfast CLI once for the run (harness/holdfast-cli.ts).
      globalSetup: "<rootDir>/test/support/integration-setup.ts",
    },
  ],
};
