// The scaffolding every check group builds its results with: one result per item, asked one at a time
// and in order; the failures or a single line that all passed; the skip of a check without a cluster.
import { eachChecked, failuresOr, resultsOf } from "./check";

const r = resultsOf("storage");

test("eachChecked asks one item at a time and keeps the items' order", async () => {
  let running = 0;
  let most = 0;
  const results = await eachChecked([30, 0, 10], async (ms) => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, ms));
    running--;
    return r.ok(`after ${ms}`, "done");
  });
  expect(most).toBe(1);
  expect(results.map((x) => x.check)).toEqual(["after 30", "after 0", "after 10"]);
});

test("failuresOr: the failures when there are any, else the one line that all passed", () => {
  const failed = [r.fail("storageclass gp2", "reclaims with Delete")];
  const allPassed = () => r.ok("storage classes", "all reclaim with Retain");
  expect(failuresOr(failed, allPassed)).toEqual(failed);
  expect(failuresOr([], allPassed)).toEqual([
    { group: "storage", check: "storage classes", status: "ok", detail: "all reclaim with Retain" },
  ]);
});

test("unreachable is the group's skip, saying the cluster did not answer", () => {
  expect(r.unreachable("storage classes")).toEqual({
    group: "storage",
    check: "storage classes",
    status: "skip",
    detail: "not checked: the cluster did not answer",
  });
});
