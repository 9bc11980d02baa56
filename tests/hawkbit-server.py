#!/usr/bin/env python3
"""A stand-in for Eclipse hawkBit's Direct Device Integration (DDI) API, for
cadu's tests. The real server (Java, run from its container image) cannot be
installed from Debian's packages; this one follows the published DDI API
(eclipse.dev/hawkbit/apis/ddi_api, and the JSON model classes of
hawkbit-ddi-api: DdiControllerBase, DdiDeploymentBase, DdiDeployment,
DdiChunk, DdiArtifact, DdiActionFeedback, DdiStatus, DdiResult, DdiProgress,
DdiCancel, DdiConfigData) where a device can tell the difference.

DDI resources, below /{tenant}/controller/v1/{controllerId}:
  GET  ""                                controller base: config.polling.sleep, _links
  GET  deploymentBase/{actionId}         the action: deployment.download/update/maintenanceWindow, chunks
  POST deploymentBase/{actionId}/feedback
  GET  cancelAction/{actionId}           {"id", "cancelAction": {"stopId"}}
  POST cancelAction/{actionId}/feedback
  PUT  configData                        {"mode", "data"}
  GET  softwaremodules/{id}/artifacts/{filename}
Authentication as hawkBit's: "Authorization: TargetToken <token>" (the
target's own) or "GatewayToken <token>" (the tenant's); anything else 401.

The test drives it as hawkBit's management API would, through /control/
(no token): POST /control/deploy {"id", "files": [paths], "download",
"update", "maintenanceWindow"}, POST /control/cancel {"id"}, POST
/control/request-config, POST /control/fail {"count": N, "status": S} (the
next N DDI requests answer S), GET /control/state. Every DDI request and
feedback body is appended to --log as JSON lines.
"""
import argparse
import hashlib
import json
import os
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXECUTIONS = {"closed", "proceeding", "canceled", "scheduled", "rejected", "resumed", "downloaded", "download"}
FINISHED = {"success", "failure", "none"}
MODES = {"merge", "replace", "remove"}
HANDLING = {"skip", "attempt", "forced"}

lock = threading.RLock()
state = {"actions": {}, "config_requested": True, "config_data": {}, "fail": {"count": 0, "status": 503}}


class BadBody(Exception):
    pass


def save():
    """Keep the server's state across restarts (--state), as hawkBit keeps
    its repository: called with lock held after every change."""
    a = ARGS
    if a.state:
        with open(a.state + ".tmp", "w") as f:
            json.dump(state, f)
        os.rename(a.state + ".tmp", a.state)


def check_feedback(body):
    """Validate a DdiActionFeedback as hawkBit's bean validation does:
    status (required) with execution and result (required, known values),
    result.finished (required), progress.cnt (required when progress is
    given), details a list of strings; unknown properties are ignored."""
    if not isinstance(body, dict):
        raise BadBody("feedback is not a JSON object")
    if "time" in body and not isinstance(body["time"], str):
        raise BadBody("time must be a string")
    st = body.get("status")
    if not isinstance(st, dict):
        raise BadBody("status is required")
    if st.get("execution") not in EXECUTIONS:
        raise BadBody("status.execution must be one of %s" % sorted(EXECUTIONS))
    res = st.get("result")
    if not isinstance(res, dict):
        raise BadBody("status.result is required")
    if res.get("finished") not in FINISHED:
        raise BadBody("status.result.finished must be one of %s" % sorted(FINISHED))
    if "progress" in res and res["progress"] is not None:
        pr = res["progress"]
        if not isinstance(pr, dict) or not isinstance(pr.get("cnt"), int) or isinstance(pr.get("cnt"), bool):
            raise BadBody("status.result.progress.cnt is required (an integer)")
        if "of" in pr and pr["of"] is not None and (not isinstance(pr["of"], int) or isinstance(pr["of"], bool)):
            raise BadBody("status.result.progress.of must be an integer")
    if "details" in st and st["details"] is not None:
        if not isinstance(st["details"], list) or not all(isinstance(d, str) for d in st["details"]):
            raise BadBody("status.details must be a list of strings")
    if "code" in st and st["code"] is not None and not isinstance(st["code"], int):
        raise BadBody("status.code must be an integer")
    return st


def sleep_string(seconds):
    return "%02d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hawkbit-ddi-stand-in"

    def log_message(self, fmt, *args):
        pass

    def log(self, **kw):
        kw["t"] = time.time()
        with lock, open(self.server.args.log, "a") as f:
            f.write(json.dumps(kw) + "\n")

    def reply(self, code, obj=None, raw=None, ctype="application/hal+json"):
        data = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(code)
        if data or obj is not None:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def error(self, code, error_code, message):
        self.reply(code, {"exceptionClass": "org.eclipse.hawkbit." + error_code, "errorCode": error_code,
                          "message": message})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            raise BadBody("body too large")
        raw = self.rfile.read(n)
        try:
            return json.loads(raw)
        except ValueError:
            raise BadBody("body is not JSON")

    def base(self):
        a = self.server.args
        return "%s://%s/%s/controller/v1/%s" % (a.scheme, self.headers.get("Host"), a.tenant, a.controller)

    def authorized(self):
        a = self.server.args
        auth = self.headers.get("Authorization", "")
        ok = (a.token and auth == "TargetToken " + a.token) or (a.gateway_token and auth == "GatewayToken " + a.gateway_token)
        if not ok:
            self.log(kind="unauthorized", path=self.path, auth=auth)
            self.error(401, "hawkbit.server.error.unauthorized", "Authentication required")
        return ok

    # -- management stand-in ------------------------------------------------
    def control(self, what):
        if what == "state" and self.command == "GET":
            with lock:
                return self.reply(200, state, ctype="application/json")
        try:
            b = self.body()
        except BadBody as e:
            return self.reply(400, {"message": str(e)}, ctype="application/json")
        with lock:
            if what == "deploy":
                files = []
                for p in b["files"]:
                    d = open(p, "rb").read()
                    files.append({"filename": os.path.basename(p), "path": p, "size": len(d),
                                  "sha256": hashlib.sha256(d).hexdigest(), "sha1": hashlib.sha1(d).hexdigest(),
                                  "md5": hashlib.md5(d).hexdigest()})
                state["actions"][str(b["id"])] = {
                    "id": str(b["id"]), "files": files, "status": "running", "cancel": None,
                    "download": b.get("download", "forced"), "update": b.get("update", "forced"),
                    "maintenanceWindow": b.get("maintenanceWindow"), "feedback": [], "version": b.get("version", "1")}
            elif what == "update":
                act = state["actions"][str(b["id"])]
                for k in ("download", "update", "maintenanceWindow"):
                    if k in b:
                        act[k] = b[k]
            elif what == "cancel":
                state["actions"][str(b["id"])]["cancel"] = "requested"
            elif what == "request-config":
                state["config_requested"] = True
            elif what == "fail":
                state["fail"] = {"count": int(b["count"]), "status": int(b.get("status", 503))}
            else:
                return self.reply(404, {"message": "no such control"}, ctype="application/json")
            save()
        self.reply(200, {"ok": True}, ctype="application/json")

    # -- DDI -------------------------------------------------------------------
    def open_action(self):
        for act in state["actions"].values():
            if act["status"] == "running":
                return act
        return None

    def route(self):
        a = self.server.args
        path = self.path.split("?", 1)[0]
        if path.startswith("/control/"):
            return self.control(path[len("/control/"):])
        m = re.fullmatch(r"/([^/]+)/controller/v1/([^/]+)(/.*)?", path)
        if not m:
            return self.error(404, "hawkbit.server.error.repo.entitiyNotFound", "no such resource")
        if m.group(1) != a.tenant or m.group(2) != a.controller:
            if not self.authorized():
                return
            return self.error(404, "hawkbit.server.error.repo.entitiyNotFound", "Target not found")
        if not self.authorized():
            return
        with lock:
            if state["fail"]["count"] > 0:
                state["fail"]["count"] -= 1
                save()
                self.log(kind="injected-failure", method=self.command, path=path)
                return self.reply(state["fail"]["status"], raw=b"")
        rest = m.group(3) or ""
        self.log(kind="request", method=self.command, path=path)
        with lock:
            if rest == "" and self.command == "GET":
                return self.controller_base()
            if rest == "/configData" and self.command == "PUT":
                return self.config_data()
            m2 = re.fullmatch(r"/(deploymentBase|cancelAction)/([^/]+)(/feedback)?", rest)
            if m2:
                act = state["actions"].get(m2.group(2))
                if not act:
                    return self.error(404, "hawkbit.server.error.repo.entitiyNotFound", "Action not found")
                if m2.group(3) and self.command == "POST":
                    return self.feedback(act, m2.group(1))
                if not m2.group(3) and self.command == "GET":
                    return self.deployment(act) if m2.group(1) == "deploymentBase" else self.cancel_action(act)
            m3 = re.fullmatch(r"/softwaremodules/([^/]+)/artifacts/([^/]+)", rest)
            if m3 and self.command in ("GET", "HEAD"):
                for act in state["actions"].values():
                    if act["id"] == m3.group(1):
                        for f in act["files"]:
                            if f["filename"] == m3.group(2):
                                return self.reply(200, raw=open(f["path"], "rb").read(),
                                                  ctype="application/octet-stream")
                return self.error(404, "hawkbit.server.error.repo.entitiyNotFound", "Artifact not found")
        self.error(405, "hawkbit.server.error.rest.methodNotAllowed", "method not allowed")

    def controller_base(self):
        links = {}
        act = self.open_action()
        if act and act["cancel"] == "requested":
            links["cancelAction"] = {"href": "%s/cancelAction/%s" % (self.base(), act["id"])}
        elif act:
            h = hashlib.sha1(json.dumps([act["download"], act["update"], act["maintenanceWindow"]]).encode())
            links["deploymentBase"] = {"href": "%s/deploymentBase/%s?c=-%d" % (
                self.base(), act["id"], int(h.hexdigest()[:7], 16))}
        if state["config_requested"]:
            links["configData"] = {"href": self.base() + "/configData"}
        self.reply(200, {"config": {"polling": {"sleep": sleep_string(self.server.args.sleep)}}, "_links": links})

    def deployment(self, act):
        arts = []
        for f in act["files"]:
            href = "%s/softwaremodules/%s/artifacts/%s" % (self.base(), act["id"], f["filename"])
            arts.append({"filename": f["filename"], "hashes": {"sha1": f["sha1"], "md5": f["md5"], "sha256": f["sha256"]},
                         "size": f["size"], "_links": {"download-http": {"href": href},
                                                       "md5sum-http": {"href": href + ".MD5SUM"}}})
        dep = {"download": act["download"], "update": act["update"],
               "chunks": [{"part": "os", "version": act["version"], "name": "cadu release", "artifacts": arts}]}
        if act["maintenanceWindow"]:
            dep["maintenanceWindow"] = act["maintenanceWindow"]
        self.reply(200, {"id": act["id"], "deployment": dep})

    def cancel_action(self, act):
        if act["cancel"] != "requested":
            return self.error(404, "hawkbit.server.error.repo.entitiyNotFound", "no cancellation for this action")
        self.reply(200, {"id": act["id"], "cancelAction": {"stopId": act["id"]}})

    def feedback(self, act, kind):
        try:
            b = self.body()
            st = check_feedback(b)
        except BadBody as e:
            self.log(kind="bad-feedback", action=act["id"], reason=str(e))
            return self.error(400, "hawkbit.server.error.rest.body.notReadable", str(e))
        self.log(kind="feedback", resource=kind, action=act["id"], body=b)
        if act["status"] != "running":
            # hawkBit: feedback for an action that is no longer active.
            return self.error(410, "hawkbit.server.error.action.closed", "Action %s is not active" % act["id"])
        act["feedback"].append({"resource": kind, "execution": st["execution"],
                                "finished": st["result"]["finished"], "details": st.get("details") or []})
        ex, fin = st["execution"], st["result"]["finished"]
        if kind == "cancelAction":
            if ex in ("closed", "canceled") and fin == "success":
                act["status"] = "canceled"
            elif ex == "rejected":
                act["cancel"] = "rejected"
        elif ex == "closed" and fin in ("success", "failure"):
            act["status"] = "finished-" + fin
        elif ex == "downloaded" and act["update"] == "skip":
            act["status"] = "downloaded"        # a download-only action ends here
        save()
        self.reply(200)

    def config_data(self):
        try:
            b = self.body()
            if not isinstance(b, dict) or not isinstance(b.get("data"), dict):
                raise BadBody("data is required")
            if "mode" in b and b["mode"] not in MODES:
                raise BadBody("mode must be one of %s" % sorted(MODES))
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in b["data"].items()):
                raise BadBody("data must map strings to strings")
        except BadBody as e:
            self.log(kind="bad-config", reason=str(e))
            return self.error(400, "hawkbit.server.error.rest.body.notReadable", str(e))
        self.log(kind="config", body=b)
        if b.get("mode", "merge") == "replace":
            state["config_data"] = dict(b["data"])
        elif b.get("mode") == "remove":
            for k in b["data"]:
                state["config_data"].pop(k, None)
        else:
            state["config_data"].update(b["data"])
        state["config_requested"] = False
        save()
        self.reply(200)

    def do_GET(self):
        self.safe()

    def do_HEAD(self):
        self.safe()

    def do_POST(self):
        self.safe()

    def do_PUT(self):
        self.safe()

    def safe(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError):
            pass


ARGS = None


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tenant", default="DEFAULT")
    ap.add_argument("--controller", default="dev1")
    ap.add_argument("--token", default="")
    ap.add_argument("--gateway-token", default="")
    ap.add_argument("--sleep", type=int, default=1, help="polling sleep the server asks for, seconds")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--state")
    a = ap.parse_args()
    a.scheme = "https" if a.cert else "http"
    ARGS = a
    if a.state and os.path.exists(a.state):
        state.update(json.load(open(a.state)))
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.args = a
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
