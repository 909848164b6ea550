"""Supervision options from Python (docs/supervision.md): restart
policies, readiness and status through $AGENTRT_NOTIFY_FD, the watchdog."""
import agentrt


def test_restart_policy_gives_up_with_the_count():
    with agentrt.Runtime() as rt:
        r = rt.run(["sh", "-c", "exit 3"],
                   restart={"policy": "on-failure", "max_restarts": 2,
                            "backoff": "fixed:10ms"})
        assert r.status == "gave_up"
        assert r.exit_code == 3 and r.restarts == 2


def test_notify_ready_and_status():
    with agentrt.Runtime() as rt:
        r = rt.run(["sh", "-c", 'echo "STATUS=warming up" >&$AGENTRT_NOTIFY_FD; '
                                'echo READY=1 >&$AGENTRT_NOTIFY_FD; sleep 0.1'],
                   notify=True)
        assert r.ok and r.ready and r.status_text == "warming up"
        r = rt.run(["true"])
        assert r.ready and r.status_text is None and r.restarts == 0


def test_watchdog_stops_a_silent_task():
    import datetime
    with agentrt.Runtime() as rt:
        r = rt.run(["sleep", "30"], watchdog=datetime.timedelta(milliseconds=200), grace=0)
        assert r.status == "watchdog"
        assert r.wall_s < 5
