// Finds a MongoDB for the server suites, once per jest run:
// 1. MONGO_URL, when set, is used as it is (it must be a replica set: see README.md).
// 2. Otherwise testcontainers starts `mongo` as a single-node replica set (rs0) and MONGO_URL is set
//    for the test workers. ES_MONGO_TESTCONTAINERS=false skips this step.
// 3. Otherwise ES_MONGO_SKIP_REASON says why, and the server suites print it once and skip.
const IMAGE = process.env.MONGO_IMAGE || 'mongo:8.0.4';

module.exports = async function mongoGlobalSetup() {
  if (process.env.MONGO_URL) return;
  if (/^(0|false|no)$/i.test(process.env.ES_MONGO_TESTCONTAINERS || '')) {
    process.env.ES_MONGO_SKIP_REASON = 'ES_MONGO_TESTCONTAINERS is off';
    return;
  }
  try {
    const { MongoDBContainer } = require('@testcontainers/mongodb');
    const container = await new MongoDBContainer(IMAGE).start();
    globalThis.__ES_MONGO_CONTAINER__ = container;
    // The replica set advertises the container's own host name: connect to the mapped port directly.
    process.env.MONGO_URL = `${container.getConnectionString()}/?directConnection=true`;
    process.env.ES_MONGO_SOURCE = `testcontainers (${IMAGE})`;
  } catch (error) {
    const message = String(error?.message || error).split('\n')[0];
    process.env.ES_MONGO_SKIP_REASON = `testcontainers could not start ${IMAGE}: ${message}`;
  }
};
