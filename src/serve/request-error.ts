// The error of a request the server refuses: answered with its status and {"error": message}.

export class RequestError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}
