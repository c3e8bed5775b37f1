import { policies } from "../pack";
import { PackConfigError, parsePackConfig } from "./config";
import * as fs from "fs";
import * as path from "path";

const parse = (doc: unknown) => parsePackConfig(JSON.stringify(doc), policies, "test.json");

describe("the pack's config files", () => {
  it.each(["dev", "prod"])("policies/config/%s.json is valid for the pack", (stack) => {
    const text = fs.readFileSync(path.join(__dirname, "..", "config", `${stack}.json`), "utf8");
    expect(() => parsePackConfig(text, policies, `${stack}.json`)).not.toThrow();
  });

  it("normalizes levels and properties as the CLI does", () => {
    expect(
      parse({
        all: "advisory",
        "aws-s3-bucket-no-force-destroy": "mandatory",
        "aws-s3-backup-bucket-retention": { enforcementLevel: "advisory", minimumRetentionDays: 35 },
      }),
    ).toEqual({
      all: { enforcementLevel: "advisory" },
      "aws-s3-bucket-no-force-destroy": { enforcementLevel: "mandatory" },
      "aws-s3-backup-bucket-retention": {
        enforcementLevel: "advisory",
        properties: { minimumRetentionDays: 35 },
      },
    });
  });

  it.each([
    [{ "no-such-policy": "advisory" }, 'the pack has no policy "no-such-policy"'],
    [{ "aws-s3-bucket-no-force-destroy": "strict" }, "enforcementLevel must be one of"],
    [{ "aws-s3-backup-bucket-retention": { minimumDays: 3 } }, 'has no property "minimumDays"'],
    [{ "aws-s3-backup-bucket-retention": { minimumRetentionDays: "30" } }, "must be integer"],
    [{ "aws-s3-backup-bucket-retention": { minimumRetentionDays: 0 } }, "must be at least 1"],
    [
      { "aws-s3-backup-bucket-encrypted": { allowedAlgorithms: ["rot13"] } },
      "allowedAlgorithms[0]: must be one of",
    ],
    [{ "aws-s3-backup-bucket-object-lock": { modes: [] } }, "must have at least 1 item"],
    [{ all: { required: true } }, "all takes only an enforcementLevel"],
    [[], "must be a JSON object"],
  ])("rejects %j", (doc, message) => {
    expect(() => parse(doc)).toThrow(PackConfigError);
    expect(() => parse(doc)).toThrow(message);
  });

  it("rejects text that is not JSON", () => {
    expect(() => parsePackConfig("{", policies, "x.json")).toThrow(/^x.json: not JSON/);
  });
});
