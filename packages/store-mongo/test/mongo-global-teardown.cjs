// Stops the MongoDB container the global setup started, if it started one.
module.exports = async function mongoGlobalTeardown() {
  const container = globalThis.__ES_MONGO_CONTAINER__;
  if (container) await container.stop();
};
