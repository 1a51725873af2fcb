export { createHttpClient, type HttpClient, type HttpClientOptions, type HttpRequest, type HttpResponse, type HttpMethod } from './http-client.ts';
export { HttpError, type HttpErrorKind } from './http.error.ts';
export { redactUrl, redactHeaders, redactText } from './redact.ts';
