// Azure OpenAI error bodies, copied from the real captures in test/fixtures/azure-wire/ (file named beside each).

/** An error answer: status, JSON body (a string is sent byte for byte) and extra headers. */
export interface ErrorAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** aoai_401_invalid_api_key.json: wrong or missing API key. */
export function invalidApiKey(): ErrorAnswer {
  return {
    status: 401,
    body: {
      error: {
        code: '401',
        message:
          'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      },
    },
  };
}

/**
 * aoai_401_permission_denied_missing_data_action.json: a valid Entra token whose principal has no role.
 * Azure answers 401 here, not 403 as often assumed; the capture is what we follow.
 */
export function permissionDenied(principalId: string, dataAction: string, operation: string): ErrorAnswer {
  return {
    status: 401,
    body: {
      error: {
        code: 'PermissionDenied',
        message: `The principal \`${principalId}\` lacks the required data action \`${dataAction}\` to perform \`${operation}\` operation.`,
      },
    },
  };
}

/** aoai_401_token_invalid_audience_or_expired.json: note the different shape (no `error` object). */
export function tokenInvalid(): ErrorAnswer {
  return {
    status: 401,
    body: {
      statusCode: 401,
      message:
        'Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.',
    },
  };
}

/** aoai_403_authentication_type_disabled.json: an API key sent to a resource with local auth disabled. */
export function authenticationTypeDisabled(): ErrorAnswer {
  return {
    status: 403,
    body: {
      error: { code: 'AuthenticationTypeDisabled', message: 'Key based authentication is disabled for this resource.' },
    },
  };
}

/**
 * aoai_404_deployment_not_found.json, byte for byte: the space after the first comma is on the wire
 * (it makes the captured Content-Length of 198 add up).
 */
export function deploymentNotFound(): ErrorAnswer {
  return {
    status: 404,
    body: '{"error":{"code":"DeploymentNotFound", "message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}',
  };
}

/** Azure's answer to an unknown path, or the classic route without `api-version`. */
export function resourceNotFound(): ErrorAnswer {
  return { status: 404, body: { error: { code: '404', message: 'Resource not found' } } };
}

/** OpenAI-style 400 for a malformed request (Azure passes these through from the model service). */
export function invalidRequest(message: string, param: string | null, code: string | null): ErrorAnswer {
  return { status: 400, body: { error: { message, type: 'invalid_request_error', param, code } } };
}

/** OpenAI's wording for a body that is not JSON. */
export function invalidJson(): ErrorAnswer {
  return invalidRequest(
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
    null,
    null,
  );
}

/**
 * aoai_400_context_length_exceeded.json; the variant naming the completion tokens is the one quoted there
 * from Azure/azure-sdk-for-net#41892.
 */
export function contextLengthExceeded(window: number, promptTokens: number, completionTokens?: number): ErrorAnswer {
  const message =
    completionTokens === undefined
      ? `This model's maximum context length is ${window} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`
      : `This model's maximum context length is ${window} tokens. However, you requested ${promptTokens + completionTokens} tokens (${promptTokens} in the messages, ${completionTokens} in the completion). Please reduce the length of the messages or completion.`;
  return invalidRequest(message, 'messages', 'context_length_exceeded');
}

/**
 * aoai_400_content_filter_prompt_with_headers.json (2025, v1 surface): key order, `inner_error`, the four
 * categories and the CR LF inside the message are all as captured.
 */
export function contentFilterPrompt(): ErrorAnswer {
  return {
    status: 400,
    body: {
      error: {
        inner_error: {
          code: 'ResponsibleAIPolicyViolation',
          content_filter_results: {
            sexual: { filtered: true, severity: 'high' },
            violence: { filtered: false, severity: 'safe' },
            hate: { filtered: false, severity: 'safe' },
            self_harm: { filtered: false, severity: 'safe' },
          },
        },
        code: 'content_filter',
        message:
          "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: \r\nhttps://go.microsoft.com/fwlink/?linkid=2198766.",
        param: 'prompt',
        type: null,
      },
    },
  };
}

/**
 * aoai_429_token_rate_limit_body.json wording ("call rate limit" is Azure's word for the request limit).
 * `retry-after` is whole seconds rounded up; `retry-after-ms` is documented for Azure but not captured.
 */
export function rateLimited(limit: 'requests' | 'tokens', apiVersion: string, retryAfterMs: number): ErrorAnswer {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const what = limit === 'tokens' ? 'token rate limit' : 'call rate limit';
  return {
    status: 429,
    body: {
      error: {
        code: '429',
        message: `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${apiVersion} have exceeded ${what} of your current AIServices S0 pricing tier. Please retry after ${seconds} seconds. Please contact Azure support service if you would like to further increase the default rate limit.`,
      },
    },
    headers: { 'retry-after': String(seconds), 'retry-after-ms': String(Math.max(0, Math.ceil(retryAfterMs))) },
  };
}

/** aoai_500_server_error_while_processing.json, with this response's request id. */
export function serverError(requestId: string): ErrorAnswer {
  return {
    status: 500,
    body: {
      error: {
        message: `The server had an error while processing your request. Sorry about that! You can retry your request, or contact us through an Azure support request at: https://go.microsoft.com/fwlink/?linkid=2213926 if the error persists. (Please include the request ID ${requestId} in your message.)`,
        type: 'server_error',
        param: null,
        code: null,
      },
    },
  };
}

/**
 * aoai_503_model_internal_error_responses_api.json: the only real 503 body captured (the "temporarily
 * unable to process" wording was never seen in a capture, so it is not invented here).
 */
export function serviceUnavailable(retryAfterMs?: number): ErrorAnswer {
  const body = {
    error: { code: 'unknown', message: 'The model was unable to complete inference due to an internal error.' },
  };
  if (retryAfterMs === undefined) return { status: 503, body };
  return {
    status: 503,
    body,
    headers: {
      'retry-after': String(Math.max(0, Math.ceil(retryAfterMs / 1000))),
      'retry-after-ms': String(Math.max(0, Math.ceil(retryAfterMs))),
    },
  };
}
