// The support desk's checks when they overlap, with the Rust side replaced (the real
// desk is covered by tests/e2e/console_support.rs): checks answer in any order, and only
// the latest one's answer may be shown.
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";
import { AppError } from "../../../api/invoke";
import * as products from "../../../api/console/products";
import * as support from "../../../api/console/support";
import type { Page } from "../../../bindings/Page";
import type { Product } from "../../../bindings/Product";
import type { RequestReview } from "../../../bindings/RequestReview";
import { SessionContext } from "../session";
import { sessionWith } from "../testSession";
import { SupportRoutes } from "./index";

afterEach(() => vi.restoreAllMocks());
// jsdom lays nothing out and has no scrollIntoView; the review card calls it after each check.
beforeAll(() => {
  Element.prototype.scrollIntoView = () => {};
});

const session = sessionWith(["licenses:read", "licenses:write", "products:read", "machines:read"]);

const REQUEST = "LICENTRIC-REQ1.abc";

function review(problem: { code: "wrong_product" | "unknown_license"; title: string } | null): RequestReview {
  return {
    text: REQUEST,
    asks: null,
    license: null,
    productName: null,
    machines: [],
    problems: problem ? [{ ...problem, blocking: true, message: problem.title }] : [],
    canIssue: problem === null,
    alreadyActivated: false,
  };
}

/** A promise and the function that settles it, to answer a check when the test says. */
function later<T>() {
  let settle!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((resolve, fail) => {
    settle = resolve;
    reject = fail;
  });
  return { promise, settle, reject };
}

/** The desk with a ready verdict, then two re-checks from the product picker: Pro App's
 * is slow (`slow` settles it), Studio's answers first (wrong product). */
async function overlappingChecks() {
  vi.spyOn(products, "listProducts").mockResolvedValue({
    data: [{ id: "prod_a", name: "Pro App" } as Product, { id: "prod_b", name: "Studio" } as Product],
    total: 2,
    limit: 100,
    offset: 0,
    hasMore: false,
  } satisfies Page<Product>);
  const slow = later<RequestReview>();
  const check = vi
    .spyOn(support, "reviewActivationRequest")
    // The first check (any product) answers at once: ready.
    .mockResolvedValueOnce(review(null))
    // Choosing Pro App re-checks; that answer is slow.
    .mockReturnValueOnce(slow.promise)
    // Choosing Studio re-checks again and answers first: wrong product.
    .mockResolvedValueOnce(review({ code: "wrong_product", title: "Wrong product" }));
  render(
    <SessionContext.Provider value={session}>
      <SupportRoutes />
    </SessionContext.Provider>,
  );
  await userEvent.type(screen.getByTestId("request-input"), REQUEST);
  await userEvent.click(screen.getByTestId("check-request"));
  expect(await screen.findByTestId("no-problems")).toHaveTextContent("Ready to issue");

  const picker = await screen.findByTestId("support-product");
  await screen.findByRole("option", { name: "Studio" });
  await userEvent.selectOptions(picker, "prod_a");
  await userEvent.selectOptions(picker, "prod_b");
  expect(check).toHaveBeenLastCalledWith(REQUEST, "prod_b");
  await waitFor(() => expect(screen.getByTestId("problem")).toHaveAttribute("data-code", "wrong_product"));
  return { check, slow };
}

test("a check that answers after a later one does not replace its answer, and the desk stays busy until both are back", async () => {
  const { check, slow } = await overlappingChecks();
  // The Pro App check is still out: the desk says it is checking.
  expect(screen.getByTestId("check-request")).toHaveTextContent("Checking…");
  expect(screen.getByTestId("check-request")).toBeDisabled();

  // Its late answer (ready, for Pro App) is dropped: Studio's verdict stays.
  await act(async () => slow.settle(review(null)));
  await waitFor(() => expect(screen.getByTestId("check-request")).toHaveTextContent("Check again"));
  expect(screen.getByTestId("problem")).toHaveAttribute("data-code", "wrong_product");
  expect(screen.queryByTestId("no-problems")).toBeNull();
  expect(check).toHaveBeenCalledTimes(3);
});

test("a check that fails after a later one has answered leaves no error beside the later one's verdict", async () => {
  const { slow } = await overlappingChecks();
  // The superseded Pro App check fails late: the server went away meanwhile.
  await act(async () =>
    slow.reject(new AppError({ code: "network", message: "The server did not answer.", details: {} })),
  );
  await waitFor(() => expect(screen.getByTestId("check-request")).toHaveTextContent("Check again"));
  expect(screen.queryByTestId("check-error")).toBeNull();
  expect(screen.getByTestId("problem")).toHaveAttribute("data-code", "wrong_product");
});
