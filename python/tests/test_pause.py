"""Task.pause/resume/live: a paused task uses no CPU and its timeout waits."""
import time

import agentrt


def test_pause_stops_cpu_and_resume_continues():
    with agentrt.Runtime() as rt:
        t = rt.spawn(["/bin/sh", "-c", "while :; do :; done"], timeout=30)
        for _ in range(200):
            live = t.live()
            if live and live["state"] == "running":
                break
            time.sleep(0.01)
        time.sleep(0.2)
        assert t.pause()
        time.sleep(0.1)
        a = t.live()
        time.sleep(0.4)
        b = t.live()
        assert b["paused"] is True
        assert b["cpu_s"] - a["cpu_s"] < 0.01
        assert t.resume()
        time.sleep(0.4)
        c = t.live()
        assert c["paused"] is False
        assert c["cpu_s"] - b["cpu_s"] > 0.1
        t.cancel()
        r = t.wait(10)
        assert r is not None
        assert r.status == "cancelled"
        assert t.live() is None
        assert t.pause() is False
