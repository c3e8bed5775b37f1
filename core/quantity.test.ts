// Memory quantities read one way by the stack and the stack commands: whole bytes, rounded down.
import { mebibytes, quantityBytes, quantityToBytes } from "./quantity";

test("binary and decimal suffixes, fractions rounded down to whole bytes", () => {
  expect(quantityBytes("512Mi")).toBe(512 * 2 ** 20);
  expect(quantityBytes("1G")).toBe(1e9);
  expect(quantityBytes("1.5Ki")).toBe(1536);
  expect(quantityBytes("0.3k")).toBe(300);
  expect(quantityBytes("1.0000001Ki")).toBe(1024);
  expect(quantityBytes(" 8Gi ")).toBe(8 * 2 ** 30);
});

test("what is not a quantity: undefined, or an error from quantityToBytes", () => {
  expect(quantityBytes("lots")).toBeUndefined();
  expect(quantityBytes(undefined)).toBeUndefined();
  expect(quantityBytes("8GB")).toBeUndefined();
  expect(() => quantityToBytes("8GB")).toThrow("not a memory quantity: 8GB");
});

test("whole MiB, rounded up", () => {
  expect(mebibytes(8 * 2 ** 30 + 256 * 2 ** 20)).toBe("8448Mi");
  expect(mebibytes(2 ** 20 + 1)).toBe("2Mi");
});
