import {
  aclRules,
  applyAclRules,
  flushCommandsOf,
  initialDefaultUser,
  newUser,
  requiresPassword,
  usersOf,
} from "./redis-acl";

const can = (rules: string) =>
  flushCommandsOf(applyAclRules(newUser("u"), aclRules(["on", ...rules.split(" ").filter(Boolean)]))).map(
    (c) => c.command,
  );

describe("the ACL rule evaluator: FLUSHALL and FLUSHDB", () => {
  it.each([
    ["+@all", ["flushall", "flushdb"]],
    ["allcommands", ["flushall", "flushdb"]],
    ["+@all -@dangerous", []],
    ["+@all -@dangerous +flushall", ["flushall"]],
    ["-flushall +@all", ["flushall", "flushdb"]],
    ["+@all -flushall -flushdb", []],
    ["+@keyspace", ["flushall", "flushdb"]],
    ["+@write", ["flushall", "flushdb"]],
    ["+@slow", ["flushall", "flushdb"]],
    ["+@dangerous", ["flushall", "flushdb"]],
    ["+@read +@admin", []],
    ["+@all -@write", []],
    ["nocommands", []],
    ["+@all nocommands +FLUSHDB", ["flushdb"]],
    ["+flushall|async", ["flushall"]],
    ["+@all -flushall|async", ["flushall", "flushdb"]],
    ["+@all reset on", []],
    ["(~* +flushall)", ["flushall"]],
    ["~* &* +@all -@dangerous +info +role +keys +sort +sort_ro -flushall -flushdb -swapdb", []],
  ])("%s -> %j", (rules, expected) => {
    expect(can(rules)).toEqual(expected);
  });

  it("names the rule that allows a command", () => {
    const user = applyAclRules(newUser("app"), ["on", "+@all", "-@dangerous", "+flushdb"]);
    expect(flushCommandsOf(user)).toEqual([{ command: "flushdb", grantedBy: "+flushdb" }]);
  });

  it("lets nobody run anything as a user that is off", () => {
    expect(flushCommandsOf(applyAclRules(newUser("u"), ["off", "+@all"]))).toEqual([]);
  });

  it("joins a selector spread over words", () => {
    expect(aclRules(["on", "(~x", "+flushall)", "+get"])).toEqual(["on", "(~x +flushall)", "+get"]);
  });
});

describe("the default user and passwords", () => {
  it("starts on, nopass, with every command", () => {
    const d = initialDefaultUser();
    expect(requiresPassword(d)).toBe(false);
    expect(flushCommandsOf(d).map((c) => c.command)).toEqual(["flushall", "flushdb"]);
  });

  it("needs a password once off, given a password, or reset", () => {
    expect(requiresPassword(applyAclRules(initialDefaultUser(), ["off"]))).toBe(true);
    expect(requiresPassword(applyAclRules(initialDefaultUser(), [">secret"]))).toBe(true);
    expect(requiresPassword(applyAclRules(initialDefaultUser(), ["resetpass"]))).toBe(true);
    expect(requiresPassword(applyAclRules(initialDefaultUser(), [">secret", "nopass"]))).toBe(false);
  });

  it("usersOf adds the default user when no line names it, with requirepass as its password", () => {
    const users = usersOf([{ name: "app", rules: ["on", ">x", "+get"] }]);
    expect(users.map((u) => u.name)).toEqual(["default", "app"]);
    expect(requiresPassword(users[0])).toBe(false);
    expect(requiresPassword(usersOf([], "pw")[0])).toBe(true);
    expect(requiresPassword(usersOf([{ name: "default", rules: ["off"] }])[0])).toBe(true);
  });
});
