"""What the tests share: the ways of running a hub, real servers, clients and scenarios.

Four ways of running a hub, from the lightest:

- **in process** (`inprocess.py`: the `hub_factory`, `hub` and `meeting` fixtures): the
  real app on a loopback port in the test's own event loop; SQLite, or a Redis given.
- **one `hub serve` process** (`harness.HubProcess`): the command line as deployed, for
  start-up, signals, restarts and `kill -9`.
- **several processes on one Redis** (`harness.HubProcess` with `redis_url`, or the
  `hub_server`/relay fixtures): the multi-instance normal case, relays in front of a hub
  (`relay_rooms.py`), a Redis Cluster (`redis_server.RedisClusterProcesses`).
- **behind nginx** (`deployment.py`: `deployment`): the documented deployment, nginx in
  front of two hub processes on one Redis.

Real servers: `redis_server.py` (a private Redis or `HUB_TEST_REDIS_URL`),
`postgres_server.py`, `browser.py` (Chromium via Playwright), `janus_probe.py`,
`media_netns.py` (network namespaces with Janus for real audio), `proxy.py` (a TCP proxy
that can cut links). Protocol clients: `harness.Client`, `harness.http`/`ahttp`.
Scenarios and data: the other modules, each named after what it builds.

Tests live by kind, each in its folder and marked with it: `unit` (pure logic, no I/O),
`server` (one hub or one backend over real sockets), `system` (several processes: hubs on
one Redis, relays, a Redis Cluster, nginx, Janus, restarts), `web` (Chromium). A file sits
with the heaviest thing any of its tests needs.
"""
