/**
 * Domain errors: a command the account refuses. Each has a stable `code` (compare codes, not
 * classes) and says what to do about it. Nothing is recorded when one is thrown.
 */
export abstract class BankError extends Error {
  abstract readonly code: string;

  constructor(
    readonly accountId: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A withdrawal larger than the balance. */
export class InsufficientFundsError extends BankError {
  readonly code = 'BANK_INSUFFICIENT_FUNDS';

  constructor(
    accountId: string,
    readonly balance: number,
    readonly requested: number,
  ) {
    super(
      accountId,
      `Insufficient funds in account "${accountId}": balance ${balance}, withdrawal ${requested}.`,
    );
  }
}

/** A deposit, withdrawal or close on an account that is already closed. */
export class AccountClosedError extends BankError {
  readonly code = 'BANK_ACCOUNT_CLOSED';

  constructor(accountId: string) {
    super(accountId, `Account "${accountId}" is closed: it accepts no more deposits or withdrawals.`);
  }
}

/** Closing an account that still holds money: withdraw it first. */
export class AccountNotEmptyError extends BankError {
  readonly code = 'BANK_ACCOUNT_NOT_EMPTY';

  constructor(
    accountId: string,
    readonly balance: number,
  ) {
    super(accountId, `Account "${accountId}" still holds ${balance}: withdraw it before closing.`);
  }
}

/** An amount that is not a positive whole number of cents. */
export class InvalidAmountError extends BankError {
  readonly code = 'BANK_INVALID_AMOUNT';

  constructor(
    accountId: string,
    readonly amount: unknown,
  ) {
    super(
      accountId,
      `Invalid amount ${String(amount)} for account "${accountId}": use a positive whole number.`,
    );
  }
}

/** True for any error the bank domain throws (a refused command, not a failure). */
export function isBankError(error: unknown): error is BankError {
  return (
    error instanceof Error &&
    typeof (error as Partial<BankError>).code === 'string' &&
    (error as BankError).code.startsWith('BANK_')
  );
}

/** Opening an account whose id is already taken. */
export class AccountAlreadyExistsError extends BankError {
  readonly code = 'BANK_ACCOUNT_EXISTS';

  constructor(accountId: string) {
    super(accountId, `Account "${accountId}" already exists: choose another id.`);
  }
}
