/** Issue 17, point 4: hostile clients against the host forwarding to the library's proxy over loopback. */
import { hostileClientTests } from './hostile-clients';

hostileClientTests('http');
