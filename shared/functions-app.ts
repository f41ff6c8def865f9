/**
 * The `app` every function file registers with, set up once: HTTP streaming on (bodies go out
 * chunk by chunk), and configuration checked at start-up so a bad setting stops the app with a
 * message instead of failing the first chat.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { chatAuthLevel as parseChatAuthLevel } from './config';
import { productionServices, type Services } from './production';

app.setup({ enableHttpStream: true });
app.hook.appStart(() => {
  productionServices();
});

export { app };

/**
 * Auth level of the chat endpoints: `function` (a function key is needed) unless `CHAT_AUTH_LEVEL=anonymous`,
 * for deployments behind App Service authentication or API Management. Read once, when the function files
 * register; a bad value stops the app at load with a message naming the setting.
 */
export const chatAuthLevel = parseChatAuthLevel(process.env);

type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * A handler built from the production services on its first call (once per process), so that
 * importing a function file (as tests do, for its factory) wires nothing.
 */
export function wired(factory: (services: Services) => Handler): Handler {
  let handler: Handler | undefined;
  return (request, context) => {
    handler ??= factory(productionServices());
    return handler(request, context);
  };
}
