export { createHttpClient, type HttpClient, type HttpResponse } from './http-client.ts';
export { HttpError } from './http.error.ts';
export { redactText } from './redact.ts';
