/** Issue 17, point 4: hostile clients against `npm start`'s host, requests handed to the library in-process. */
import { hostileClientTests } from './hostile-clients';

hostileClientTests('in-process');
