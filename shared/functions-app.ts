/**
 * The `app` every function file registers with, set up once: HTTP streaming on (bodies go out
 * chunk by chunk), and configuration checked at start-up so a bad setting stops the app with a
 * message instead of failing the first chat.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { productionServices, type Services } from './production';

app.setup({ enableHttpStream: true });
app.hook.appStart(() => {
  productionServices();
});

export { app };

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
