/** Jest runs TypeScript through ts-jest in transpile-only mode; `npm run typecheck` checks types. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>"],
  testMatch: ["**/*.test.ts"],
  // test/image/ runs the built jobs image in a Docker engine: `npm run image:test` builds it and runs them.
  testPathIgnorePatterns: ["/node_modules/", "/dist/", "/test/image/"],
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  testTimeout: 60000,
  // HOLDFAST_TEST_ENGINE=redis7|redis8|valkey8 picks the Redis engine every test runs (harness/engine.ts).
  globalSetup: "<rootDir>/test/support/global-setup.ts",
};
