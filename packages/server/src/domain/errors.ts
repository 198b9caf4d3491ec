/**
 * The one family of errors the domain throws. The HTTP error handler turns
 * each into `{"detail": ..., "errors"?: ...}` with its status code.
 */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly detail: string,
    readonly fieldErrors?: Record<string, string[]>,
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(detail: string, fieldErrors?: Record<string, string[]>) {
    super(400, detail, fieldErrors);
  }

  /** A single-field validation error. */
  static field(field: string, message: string): ValidationError {
    return new ValidationError(message, { [field]: [message] });
  }
}

export class Unauthorized extends AppError {
  constructor(detail = 'Authentication credentials were not provided or are invalid.') {
    super(401, detail);
  }
}

export class Forbidden extends AppError {
  constructor(detail = 'You do not have permission to perform this action.') {
    super(403, detail);
  }
}

export class NotFound extends AppError {
  constructor(detail = 'Not found.') {
    super(404, detail);
  }
}

export class Conflict extends AppError {
  constructor(detail: string) {
    super(409, detail);
  }
}

export class PayloadTooLarge extends AppError {
  constructor(detail: string) {
    super(413, detail);
  }
}

export class TooManyRequests extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, `Too many attempts. Try again in ${retryAfterSeconds} seconds.`);
  }
}
