// The ceiling for the single-event HTTP figure: a bare fastify route on 127.0.0.1 that parses
// the same JSON body and answers 201 with a receipt-shaped body, doing nothing else.
// argv: <port>. Prints "READY <port>". Over IPC it answers { id, cmd: 'cpu' } with process.cpuUsage().
import { createHash } from 'node:crypto';
import Fastify from 'fastify';

const port = Number(process.argv[2]);
const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
let position = 0;
app.post('/v1/events', async (request, reply) => {
  const body = request.body;
  reply.code(201);
  return {
    eventId: body.eventId,
    streamId: `subject-${body.subjectId}`,
    streamRevision: 0,
    globalPosition: position++,
    hash: createHash('sha256').update(body.eventId).digest('hex'),
  };
});
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`READY ${port}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
process.on('message', (m) => {
  if (m?.cmd === 'cpu') process.send({ id: m.id, cpu: process.cpuUsage() });
});
process.channel?.unref();
