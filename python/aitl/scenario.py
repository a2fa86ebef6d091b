"""The built-in support scenario: a generated, seeded help centre with customer questions.

With no ``--data``, aitl's main job runs on this scenario, so the whole loop runs on a fresh
machine with nothing to download. :func:`generate` writes a BEIR folder shaped like the one of
:func:`aitl.dstc11.convert`::

    corpus.jsonl      help-centre articles {_id, title, text, product, topic, issue_type, ...}
    queries.jsonl     customer questions {_id, text, conversation, turn, region}
                      (+ phrasing_side, phrasing with disjoint_phrasings, see below)
    qrels/test.tsv    query-id, corpus-id, score (2: the article that answers, 1: also relevant)
    groups.tsv        query-id, dialogue-id (the conversation: keep it on one side of a split)
    responses.jsonl   {"_id": query-id, "response": the reference agent reply}
    scenario.json     the config, the counts, the withheld articles and their topics

The world: a fictional smart-home company (``company``, default "Lumora") sells product lines
(smart bulbs, cameras, locks, sensors, a robot vacuum, ...), some in two hardware generations;
its help centre has one article per product model and support topic (setup, connectivity,
troubleshooting, power, features, billing, returns, warranty, shipping, privacy, subscription,
account) and one per policy aspect and sales region (refund, warranty, shipping, privacy,
subscription, payment, in six regions). Facts (reset times, LED colours, battery life, prices,
warranty years) are drawn per seed, so near-duplicate articles (the two generations of a model,
the same topic for sibling products, the same policy in six regions) differ in their details.

Customer questions paraphrase one article with a *lexical gap*: with probability
``lexical_gap`` a question uses the colloquial register (other words for the same thing: "wipe
it and start over" for a factory reset, "money back" for a refund, "here in Leeds" for the
United Kingdom) and refers to the product by a nickname, plus typos (``typo_rate``).
Questions come in conversations of up to ``max_turns`` customer turns about one product and
region; a query's text is the last ``history_turns`` turns (customer and agent), joined with
newlines, like DSTC11. Judgements: the answering article has grade 2; grade 1 goes to the same
topic of the other generation when the customer did not say which one they own, to the
region's policy article behind a product's returns / warranty / delivery / subscription /
privacy question, and to the hub pairing article behind a hub device's setup question.

Knowledge gap: ``withheld_groups`` whole topic groups (a new product, a new programme, ...:
5-8 articles each, about 1.5-2% of the corpus) are in the corpus and judged, but listed in
``scenario.json`` as withheld: the served knowledge base should leave them out
(:func:`withheld_ids`), so their questions have no answer in it.

Disjoint phrasings (``disjoint_phrasings=True``): by default feedback and test questions are
worded from the same templates (in the default scenario, split 50/50 by conversation, 97.5% of
the casual test questions use a template that also occurs in training), so a learner can
memorise wordings. With the flag, every conversation gets a side, "feedback" or "eval" (a
seeded hash of seed and conversation id, 0.5 each), and its questions use only that side's
half of every phrasing resource, split by index parity (even -> feedback, odd -> eval):

- a topic's ``formal`` and ``casual`` question templates (a list of one template is shared:
  the 13 one-template ``formal`` lists of the withheld-candidate topics, GAP_TOPICS);
- the options of every "(a|b|c)" alternation in a question (an empty option counts; each group
  has at least two options, so each side keeps one);
- product nicknames (``line["nick"]``) and a region's cities;
- GREETINGS, OPENERS, STORIES, the generation hints and the location phrases ("here in X",
  "in the UK", ...).

Not split: the article's own words (the formal product name or category, country names), the
facts (colours, error codes), the final punctuation, lower-casing and typos (noise, not
wording), and the agent's side of the history (replies, acknowledgements: THANKS, CLOSINGS,
AGENT_ACKS). The wording is drawn from a second seeded stream while the default stream still
runs, so the corpus, qrels, groups and responses are those of the same config without the flag:
only query texts change. Each query row then also has ``phrasing_side`` and ``phrasing``
(``{"template": "<topic>:<formal|casual>:<index>", "nickname": ..., "city": ...}``, null when
none is used); :func:`phrasing_sides` reads the sides and :func:`phrasing_overlap` measures the
overlap of any split (for a scenario without the metadata it re-runs the generator's draws
from the config). With the flag off, the output is byte-identical to earlier versions.

>>> from aitl import scenario, beir
>>> path = scenario.load(seed=0)              # generated once into ~/.cache/aitl
>>> ds = beir.load(path)
>>> len(scenario.withheld_ids(path)) > 0
True

Everything is pure Python, deterministic for a config (same config: identical bytes).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import os
import random
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["ScenarioConfig", "generate", "load", "withheld_ids", "phrasing_sides",
           "phrasing_overlap", "cache_root", "ISSUE_TYPES", "POLICIES", "REGIONS",
           "PRODUCT_LINES", "GAP_GROUPS", "GENERATOR_VERSION", "SIDES"]

GENERATOR_VERSION = 1

#: the two sides of a disjoint-phrasings scenario (index = the parity of the phrasings it uses)
SIDES = ("feedback", "eval")

# ---------------------------------------------------------------------------------------------
# the world

#: region key -> facts used by the policy articles and the customers' location hints
REGIONS: Dict[str, Dict[str, Any]] = {
    "us": {"country": "the United States", "short": "US", "demonym": "US",
           "cities": ["Chicago", "Austin", "Denver", "Seattle", "Boston", "Phoenix"],
           "cur": "$", "carrier": "UPS", "law": "the CCPA", "tax": "sales tax",
           "legal_warranty": 1, "withdrawal": 0},
    "uk": {"country": "the United Kingdom", "short": "UK", "demonym": "British",
           "cities": ["Leeds", "Manchester", "Glasgow", "Bristol", "Cardiff", "Belfast"],
           "cur": "£", "carrier": "Royal Mail", "law": "UK GDPR", "tax": "VAT",
           "legal_warranty": 2, "withdrawal": 14},
    "eu": {"country": "the European Union", "short": "EU", "demonym": "European",
           "cities": ["Berlin", "Lyon", "Madrid", "Milan", "Amsterdam", "Vienna"],
           "cur": "€", "carrier": "DHL", "law": "the GDPR", "tax": "VAT",
           "legal_warranty": 2, "withdrawal": 14},
    "ca": {"country": "Canada", "short": "Canada", "demonym": "Canadian",
           "cities": ["Toronto", "Vancouver", "Calgary", "Montreal", "Ottawa", "Halifax"],
           "cur": "CA$", "carrier": "Canada Post", "law": "PIPEDA", "tax": "GST/HST",
           "legal_warranty": 1, "withdrawal": 0},
    "au": {"country": "Australia", "short": "Australia", "demonym": "Australian",
           "cities": ["Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide", "Hobart"],
           "cur": "A$", "carrier": "Australia Post", "law": "the Australian Privacy Principles",
           "tax": "GST", "legal_warranty": 2, "withdrawal": 0},
    "in": {"country": "India", "short": "India", "demonym": "Indian",
           "cities": ["Mumbai", "Delhi", "Bengaluru", "Chennai", "Pune", "Hyderabad"],
           "cur": "₹", "carrier": "Blue Dart", "law": "the DPDP Act", "tax": "GST",
           "legal_warranty": 1, "withdrawal": 0},
}

ISSUE_TYPES = ("setup", "connectivity", "troubleshooting", "power", "features", "billing",
               "returns", "warranty", "shipping", "privacy", "subscription", "account")
POLICIES = ("refund", "warranty", "shipping", "privacy", "subscription", "payment")

# product line: key, name, formal category, colloquial nicknames, code prefix, generations,
# features (select the topics that apply), power
PRODUCT_LINES: List[Dict[str, Any]] = [
    dict(key="hub", name="Hub", cat="smart home hub", nick=["hub", "base station", "bridge box",
         "the box that runs everything"], code="LH", gens=2, power="mains",
         feats={"hub", "wifi", "mains", "ethernet"}),
    dict(key="glow-bulb", name="Glow Bulb", cat="smart bulb", nick=["light bulb", "smart light",
         "bulb", "lightbulb"], code="GB", gens=2, power="mains",
         feats={"hubdev", "bt", "light", "colour", "mains", "voice"}),
    dict(key="glow-strip", name="Glow Strip", cat="LED light strip", nick=["light strip",
         "led tape", "strip lights", "tv backlight"], code="GS", gens=2, power="mains",
         feats={"wifi", "light", "colour", "mains", "install", "voice"}),
    dict(key="glow-lamp", name="Glow Lamp", cat="smart table lamp", nick=["lamp",
         "bedside light", "table light"], code="GL", gens=1, power="mains",
         feats={"wifi", "bt", "light", "colour", "mains", "voice"}),
    dict(key="sense-thermostat", name="Sense Thermostat", cat="smart thermostat",
         nick=["thermostat", "heating controller", "heating thing", "temp control"], code="ST",
         gens=2, power="wired", feats={"wifi", "temp", "wired", "install", "energy", "voice"}),
    dict(key="guard-cam-indoor", name="Guard Cam Indoor", cat="indoor security camera",
         nick=["indoor cam", "camera", "baby cam", "pet camera"], code="GCI", gens=2,
         power="mains", feats={"wifi", "video", "mic", "mains", "sub", "alerts", "voice"}),
    dict(key="guard-cam-outdoor", name="Guard Cam Outdoor", cat="outdoor security camera",
         nick=["outdoor camera", "garden cam", "cctv", "outside camera"], code="GCO", gens=2,
         power="recharge", feats={"wifi", "video", "mic", "recharge", "battery", "install",
                                  "sub", "alerts", "voice"}),
    dict(key="guard-floodlight", name="Guard Floodlight", cat="floodlight camera",
         nick=["floodlight", "security light", "flood light cam"], code="GF", gens=1,
         power="wired", feats={"wifi", "video", "mic", "wired", "install", "light", "sub",
                               "alerts"}),
    dict(key="guard-doorbell", name="Guard Doorbell", cat="video doorbell",
         nick=["doorbell", "ring doorbell", "door camera", "bell"], code="GD", gens=2,
         power="recharge", feats={"wifi", "video", "mic", "recharge", "battery", "install",
                                  "sub", "alerts", "voice"}),
    dict(key="guard-chime", name="Guard Chime", cat="plug-in chime", nick=["chime",
         "ding dong box", "doorbell speaker"], code="GCH", gens=1, power="mains",
         feats={"wifi", "mains", "sound"}),
    dict(key="lock-pro", name="Lock Pro", cat="smart lock", nick=["door lock", "smart lock",
         "lock", "keypad lock"], code="LP", gens=2, power="battery",
         feats={"bt", "hubdev", "lock", "battery", "install", "alerts", "voice"}),
    dict(key="lock-lite", name="Lock Lite", cat="smart deadbolt", nick=["deadbolt",
         "cheap lock", "lock"], code="LL", gens=1, power="battery",
         feats={"bt", "lock", "battery", "install"}),
    dict(key="sense-motion", name="Sense Motion", cat="motion sensor", nick=["motion sensor",
         "pir", "movement detector", "sensor"], code="SM", gens=2, power="battery",
         feats={"hubdev", "battery", "install", "alerts", "sensor"}),
    dict(key="sense-contact", name="Sense Contact", cat="door and window sensor",
         nick=["door sensor", "window sensor", "contact sensor", "magnet sensor"], code="SC",
         gens=1, power="battery", feats={"hubdev", "battery", "install", "alerts", "sensor"}),
    dict(key="sense-leak", name="Sense Leak", cat="water leak sensor", nick=["leak sensor",
         "flood sensor", "water alarm"], code="SL", gens=1, power="battery",
         feats={"hubdev", "battery", "alerts", "sensor", "sound"}),
    dict(key="plug-mini", name="Plug Mini", cat="smart plug", nick=["plug", "smart socket",
         "outlet", "wifi plug"], code="PM", gens=2, power="mains",
         feats={"wifi", "energy", "mains", "voice"}),
    dict(key="aura-speaker", name="Aura Speaker", cat="smart speaker", nick=["speaker",
         "smart speaker", "music speaker"], code="AS", gens=2, power="mains",
         feats={"wifi", "bt", "mic", "mains", "sound"}),
    dict(key="breeze-purifier", name="Breeze Purifier", cat="air purifier",
         nick=["purifier", "air cleaner", "air filter machine"], code="BP", gens=1,
         power="mains", feats={"wifi", "filter", "mains", "voice"}),
    dict(key="sweep-vacuum", name="Sweep Robot Vacuum", cat="robot vacuum",
         nick=["robot vacuum", "robovac", "hoover robot", "vacuum"], code="SR", gens=2,
         power="recharge", feats={"wifi", "vacuum", "recharge", "battery", "voice"}),
]

BUTTON_PLACES = ["on the back", "under the cover", "next to the USB port", "on the underside",
                 "behind the battery door", "on the side", "inside the mounting plate"]
COLOURS = ["blue", "white", "green", "amber", "purple", "cyan"]
GEN2_UPGRADES = ["a USB-C port", "Matter support", "dual-band Wi-Fi", "a brighter LED ring",
                 "a slimmer case", "Bluetooth 5.2", "a faster processor"]
ACCESSORIES = {"mains": ["power adapter", "mounting bracket"],
               "recharge": ["spare battery pack", "solar panel", "charging cable"],
               "battery": ["battery cover", "mounting plate"],
               "wired": ["wiring kit", "trim plate"]}


@dataclass(frozen=True)
class _Topic:
    key: str
    issue: str
    needs: Tuple[str, ...]  # any of these features (empty: every product)
    titles: Tuple[str, ...]
    body: Tuple[str, ...]  # sentences (templates); sentence 0 introduces, 1.. answer
    formal: Tuple[str, ...]  # customer questions sharing the article's words
    casual: Tuple[str, ...]  # customer questions with the lexical gap
    policy: str = ""  # "policy:aspect" also relevant (grade 1) in the customer's region
    regional: bool = False  # the customer says where they are


def _t(key, issue, needs, titles, body, formal, casual, policy="", regional=False) -> _Topic:
    return _Topic(key, issue, tuple(needs), tuple(titles), tuple(body), tuple(formal),
                  tuple(casual), policy, regional or bool(policy))


# Template language: (a|b|c) picks one alternative, {name} a fact of the model / region.
# {P} full product name, {p} the customer's name for it, {app}, {co} the company.
PRODUCT_TOPICS: List[_Topic] = [
    _t("first-setup", "setup", [], [
        "Setting up your {P}", "How to set up the {P}", "{P}: first-time setup"], [
        "(This article explains|Here is) how to set up a new {P} ({code}) with the {app} app.",
        "(Open|Launch) the {app} app, tap Add device and choose {P} from the list.",
        "(Power on the|Switch on the) {P} and wait until the status light {led_setup}.",
        "(Follow the on-screen steps|Follow the steps in the app) to (connect it to|join) your "
        "{radio_name} and name the device.",
        "Setup usually takes about {setup_min} minutes; keep your phone within {range_m} metres "
        "of the {cat}."], [
        "how do i set up my {p} with the {app} app",
        "(what are the|) setup steps for the {p}",
        "(just bought|got) a {p}, how do i set it up"], [
        "(just got|unboxed) (my|a) {p} (today|yesterday), (where do i even start|how do i get it "
        "going|what do i do first)",
        "how do i get (the|my) {p} (working|going) (on my phone|with my phone)",
        "(brand new|new) {p}, (no idea how to|how do i) hook it up",
        "(first time using|never used) a {p} before, (how do i get it working|what now)"]),
    _t("hub-pairing", "setup", ["hubdev"], [
        "Pairing the {P} with the {co} Hub", "Add the {P} to your {co} Hub"], [
        "The {P} (connects through|talks to your home through) the {co} Hub over Zigbee, so "
        "the Hub must be set up first.",
        "In the {app} app (open|go to) the Hub, tap Pair new device and select {P}.",
        "(Put the {P} in pairing mode|Start pairing mode on the {P}) by holding the {button} "
        "for {pair_s} seconds until the status light {led_setup}.",
        "(Keep|Place) the {cat} within {range_m} metres of the Hub while it pairs; pairing "
        "times out after 2 minutes."], [
        "how do i pair the {p} with the hub",
        "{p} (will not|won't) pair with the {co} hub"], [
        "(how do i|how can i) get the {p} (talking to|to talk to|to show up on) the (base "
        "station|box|bridge)",
        "the (base station|bridge box) (doesn't see|cant find|won't find) my {p}",
        "(do i need the box for|does the {p} need) the (base station|bridge)"]),
    _t("setup-fails", "setup", [], [
        "{P} setup fails or the device is not found",
        "Troubleshooting {P} setup errors"], [
        "If the {app} app (cannot find|does not find) the {P} during setup, check a few things "
        "first.",
        "Make sure Bluetooth and location access are (enabled|turned on) for the {app} app.",
        "(Your|The) {radio_name} must use the 2.4 GHz band; the {P} cannot join 5 GHz-only "
        "networks.",
        "If setup still fails with error {err_code}, restart the {cat}, move it closer to the "
        "router and try again.",
        "Error {err_code} means the (password was wrong|Wi-Fi password was rejected)."], [
        "{p} setup (fails|failed) with error {err_code}",
        "the app cannot find my {p} during setup"], [
        "app (keeps saying|says) (no devices found|nothing found) when i (add|try adding) the {p}",
        "(stuck|stuck forever) (on the|at the) (searching|connecting) (screen|bit) with (my|the) "
        "{p}",
        "(the {p} won't|cant get the {p} to) (show up|appear) (in the app|on my phone) (at all|)",
        "{p} (keeps|) (failing|erroring out) halfway (through|thru) (adding it|install)"]),
    _t("installation", "setup", ["install"], [
        "Installing and mounting the {P}", "{P}: mounting guide"], [
        "(The box contains|In the box you will find) {mount_kit} for mounting the {P}.",
        "Choose a spot (within|no more than) {range_m} metres from your router or Hub, "
        "(away from|not facing) direct sunlight.",
        "(Mark the holes|Use the template to mark the holes), drill with a {drill} mm bit and "
        "fix the mounting plate with the screws.",
        "(Slide|Click) the {cat} onto the plate until it clicks and check the live view or status "
        "in the {app} app."], [
        "how do i mount the {p} on the wall", "{p} installation and mounting"], [
        "(what|which) (size|) drill bit (do i need|for) (putting up|hanging) the {p}",
        "(best place to|where should i) (put|stick|hang) (my|the) {p}",
        "(can i|do i have to) screw the {p} (to|into) the (wall|brick|door frame)"]),
    _t("share-access", "account", [], [
        "Sharing your {P} with family members", "Give others access to the {P}"], [
        "(You can|It is possible to) share control of the {P} with up to {share_n} people in "
        "your home.",
        "In the {app} app open Settings, Home members, tap Invite and enter their email address.",
        "Invited members (get|receive) an email and must (create|sign in to) a {co} account.",
        "(Owners|The owner) can remove a member at any time; members cannot (delete|remove) "
        "the {P}."], [
        "how do i share the {p} with family members", "invite someone to control my {p}"], [
        "(my wife|my husband|my partner|my kids|my flatmate) (can't|cannot|wants to) "
        "(control|use) the {p} (from their phone|too)",
        "(can two phones|can more than one phone) (use|control) the same {p}",
        "(how do i|how to) (give|let) (my family|the kids|my mum) (use of|use) the {p}"]),
    _t("goes-offline", "connectivity", ["wifi", "hubdev"], [
        "{P} shows as offline", "{P} keeps disconnecting"], [
        "(When|If) the {P} shows as offline in the {app} app, it has lost its connection to "
        "your {radio_name}.",
        "(First,|To start,) restart your router and (unplug|power cycle) the {cat} for 10 "
        "seconds.",
        "(Check|Make sure) the signal strength in Device settings is above {rssi} dBm; move "
        "the router or Hub closer if it is weaker.",
        "If the status light {led_offline}, the {P} is searching for the network.",
        "Firmware {fw} fixed (frequent disconnects|several disconnection problems) on this "
        "model."], [
        "{p} (keeps disconnecting|shows as offline) in the app",
        "{p} (is offline|lost connection)"], [
        "{p} (keeps dropping off|drops off) (the wifi|the internet|wifi) (every day|all the "
        "time|at night)",
        "{p} (says|shows) (unavailable|not responding|greyed out) (in the app|on my phone)",
        "(why does|why is) (my|the) {p} (randomly go dead|keep going dead|losing signal)",
        "{p} (works|worked) then (stops|stopped) (responding|talking to my phone) (every few "
        "hours|after a while)"]),
    _t("new-router", "connectivity", ["wifi"], [
        "Connect the {P} to a new Wi-Fi network", "Changing the Wi-Fi network of your {P}"], [
        "(If you replaced your router|After changing your router) or its password, the {P} "
        "must be moved to the new Wi-Fi network.",
        "Open the {P} in the {app} app, (go to|tap) Device settings, Wi-Fi network, Change "
        "network.",
        "(Hold|Press and hold) the {button} for {pair_s} seconds so the status light "
        "{led_setup}, then enter the new (password|Wi-Fi password).",
        "Your schedules and settings (stay|are kept); there is no need to reset the {P}."], [
        "how do i change the wifi network on my {p}", "{p} new router"], [
        "(got|we got) a new (internet provider|broadband|modem) and (now|) the {p} (is dead|"
        "stopped working|won't connect)",
        "(changed|switched) (my|the) (internet|broadband) password and (lost|now i lost) the {p}",
        "(moving|moved) the {p} to a different (internet box|modem), (do i have to start "
        "again|what now)"]),
    _t("bluetooth", "connectivity", ["bt"], [
        "Bluetooth pairing problems with the {P}", "Control the {P} over Bluetooth"], [
        "The {P} (can be controlled|works) over Bluetooth when your phone is within {bt_m} "
        "metres.",
        "(Turn on|Enable) Bluetooth on your phone and (open|launch) the {app} app; the {P} "
        "(appears|shows up) under Nearby devices.",
        "(If pairing fails|If Bluetooth pairing fails), remove the {P} from your phone's "
        "Bluetooth list and (try|pair) again.",
        "Bluetooth Low Energy (is used|uses little power), so the {P} never shows in the "
        "phone's Bluetooth settings as a normal accessory."], [
        "{p} bluetooth pairing (fails|problem)", "how to control the {p} over bluetooth"], [
        "(phone won't|my phone will not) (see|find) the {p} (without|when there is no) wifi",
        "(can i|is it possible to) (use|control) the {p} (with no internet|without internet|"
        "offline) (from my phone|)",
        "{p} doesn't (show up|appear) (in my phone's|in the) (blue tooth|bt) list"]),
    _t("slow-response", "connectivity", [], [
        "{P} responds slowly", "Delays when controlling the {P}"], [
        "(A delay of|Delays of) more than {delay_s} seconds between a tap in the {app} app and "
        "the {P} (usually point|usually points) to a weak connection.",
        "(Check|Look at) the signal strength in Device settings and (update|install) firmware "
        "{fw} or later.",
        "(Too many|A large number of) devices on one 2.4 GHz network can slow every device "
        "down; consider a mesh router.",
        "(Cloud|Remote) commands take longer than local ones; keep Local control switched on."], [
        "{p} responds slowly to commands", "delay when controlling my {p}"], [
        "{p} takes (ages|forever|like 10 seconds) to (do anything|react|respond) (when i tap it|)",
        "(why is there|there's) (a lag|lag) (on|with) (my|the) {p}",
        "{p} (is really sluggish|feels slow) (in the app|these days)"]),
    _t("remote-access", "connectivity", [], [
        "Control the {P} when you are away from home", "Remote access for the {P}"], [
        "(To control|Controlling) the {P} (away from home|from outside your home) requires "
        "Remote access in the {app} app.",
        "(Open|Go to) Settings, Remote access and sign in with your {co} account; the "
        "{P} must be online.",
        "Remote access (works|also works) over mobile data.",
        "(If remote control fails|If it fails) while local control works, check that your "
        "router allows outgoing connections on port {port}."], [
        "control the {p} (remotely|when away from home)", "{p} remote access not working"], [
        "(can i|how can i) (use|control|check) (my|the) {p} (from work|on holiday|while "
        "travelling|when i'm not home)",
        "{p} only works (when i'm on|on) (my home|the home) wifi, not (on 4g|on mobile data|"
        "outside)",
        "(turn|switch) (on|off) the {p} from (the office|abroad|my phone at work)"]),
    _t("factory-reset", "troubleshooting", [], [
        "Factory reset the {P}", "How to reset your {P} to factory settings",
        "{P}: restoring factory settings"], [
        "A factory reset (erases|removes) the {P}'s settings, schedules and its link to your "
        "{co} account.",
        "(Press and hold|Hold down) the {button} {button_loc} for {reset_s} seconds until the "
        "status light {led_reset}.",
        "(Release|Let go of) the button and wait about {boot_s} seconds while the {cat} "
        "restarts.",
        "(Then|Afterwards) add the {P} again in the {app} app as a new device."], [
        "how do i factory reset the {p}", "{p} reset to factory settings"], [
        "(how do i|how can i|need to) (wipe|clear out|start over with) (my|the) {p} (and start "
        "fresh|completely|from scratch)",
        "(want to|need to) (give away|sell) (my|the) {p}, how do i (erase|clear) (everything|"
        "my stuff) (on it|off it)",
        "(which|what) button (do i|to) (hold|press) to (make the {p} like new|wipe the {p})"]),
    _t("status-light", "troubleshooting", [], [
        "{P} status light colours explained", "What the light on the {P} means"], [
        "The status light on the {P} shows what the {cat} is doing.",
        "(Blinking|Flashing) {col_setup} means the {P} is ready for setup.",
        "Solid {col_ok} means it is connected and working normally.",
        "(Pulsing|Slowly pulsing) {col_off} means it is offline and trying to reconnect.",
        "Flashing red means a hardware fault; contact support with the code shown in the {app} "
        "app."], [
        "what does the (status light|light) on the {p} mean", "{p} light colours"], [
        "{p} is (flashing|blinking) {col_rand} (what does that mean|why|is that bad)",
        "(little|tiny) light on (my|the) {p} (keeps blinking|is blinking) {col_rand}",
        "(there's a|a) {col_rand} light (going on|flashing) on (my|the) {p} (what does it mean|"
        "help|)"]),
    _t("no-power", "troubleshooting", [], [
        "{P} does not turn on", "{P} has no power"], [
        "If the {P} does not turn on and the status light stays off, (check|test) the power "
        "source first.",
        "{power_check}",
        "(Leave|Keep) the {cat} connected for {charge_min} minutes, then (press|hold) the "
        "{button} for 2 seconds.",
        "If nothing happens, the {P} may be faulty; (see|check) the warranty article for your "
        "region."], [
        "{p} (does not|won't) turn on", "{p} no power"], [
        "{p} is (completely dead|dead|lifeless), (no lights|nothing happens|won't wake up)",
        "(my|the) {p} (just|) (died|stopped working) and (shows nothing|won't come back)",
        "(nothing|zero) (happens|response) when i (plug in|switch on|press) the {p}"]),
    _t("firmware", "troubleshooting", [], [
        "Updating the {P} firmware", "{P} firmware update"], [
        "(Firmware updates|Updates to the firmware) (add features|fix bugs) and (improve|keep) "
        "the security of the {P}.",
        "(The {P} installs updates automatically|Automatic updates are installed) between "
        "{upd_h}:00 and {upd_h2}:00 when the {cat} is idle.",
        "To update (now|manually), open Device settings, Firmware and tap Check for updates; "
        "the latest version is {fw}.",
        "Do not (unplug|power off) the {P} while the update (runs|is installing)."], [
        "how do i update the firmware on my {p}", "latest firmware version for the {p}"], [
        "(is my|how do i know if my) {p} (is up to date|has the newest software|running the "
        "latest version)",
        "(how do i get|where is) the (newest|latest) (software|patch|version) for (the|my) {p}",
        "{p} (got stuck|stuck|froze) (during|in the middle of) an update"]),
    _t("noise-heat", "troubleshooting", ["mains", "wired"], [
        "{P} makes a noise or gets warm", "Heat and buzzing from the {P}"], [
        "(It is normal for|Normally) the {P} (to feel|feels) warm; the case can reach {temp_c} "
        "degrees C under load.",
        "A faint (buzzing|hum) (can come|comes) from the power supply when the {cat} is "
        "dimmed or busy.",
        "(If the case is too hot to touch|If it becomes too hot to touch) or you smell "
        "burning, unplug the {P} at once.",
        "(Contact|Call) support (with|quoting) the serial number (from the label|printed on "
        "the label) {button_loc}."], [
        "{p} (makes a buzzing noise|is overheating|gets hot)", "{p} noise"], [
        "(my|the) {p} is (humming|whining|making a weird sound) (at night|all the time|)",
        "{p} (feels|is) (really warm|very warm|roasting|burning hot) (is that normal|should i "
        "worry|)",
        "(weird|strange) (smell|sound) (coming from|from) (my|the) {p}"]),
    _t("flicker", "troubleshooting", ["light"], [
        "{P} flickers or dims unexpectedly", "Flickering light on the {P}"], [
        "(Flickering|A flickering light) on the {P} is (usually|often) caused by a dimmer switch "
        "on the same circuit.",
        "The {P} (needs|must have) full power: (set|leave) any wall dimmer at maximum or "
        "replace it with a normal switch.",
        "Firmware {fw} (reduced|fixed) flicker at brightness below {dim_pct} percent.",
        "(If the light still flickers|If flicker continues), (turn off|disable) Adaptive "
        "brightness in the {app} app."], [
        "{p} (flickers|is flickering)", "{p} dims (by itself|unexpectedly)"], [
        "(my|the) {p} (keeps|is) (strobing|blinking on and off|pulsing) (like a disco|randomly|)",
        "{p} (goes|went) (dark|dim) (by itself|on its own) (every evening|sometimes|)",
        "(light|lights) from the {p} (keep|keeps) (wobbling|flashing) (when dimmed|at low "
        "level)"]),
    _t("false-alerts", "troubleshooting", ["alerts"], [
        "Too many alerts from the {P}", "Reducing false alerts on the {P}"], [
        "(The {P} sends an alert|An alert is sent) every time it detects (an event|activity); "
        "(pets|curtains) and passing cars can trigger it.",
        "(Lower|Reduce) the sensitivity in Device settings, Detection, to level {sens} or below.",
        "(Set|Draw) activity zones so that the {cat} ignores the street or a busy area.",
        "(Schedule|Set up) Quiet hours to pause alerts at times when you are home."], [
        "{p} sends too many (alerts|false alerts)", "reduce false alerts from the {p}"], [
        "(my|the) {p} (keeps|won't stop) (pinging|buzzing) my phone (for nothing|all day|every "
        "5 minutes)",
        "(the cat|my dog|the trees) (sets off|keep setting off|triggers) the {p} (constantly|"
        "all the time)",
        "(how do i|can i) make the {p} (less jumpy|less sensitive|stop bugging me)"]),
    _t("battery-life", "power", ["battery"], [
        "{P} battery life and replacement", "Replacing the batteries in the {P}"], [
        "The {P} runs on {battery} that (last|lasts) about {batt_months} months (with normal "
        "use|in typical use).",
        "(The {app} app warns you|You get a warning in the {app} app) when the battery drops "
        "below {batt_warn} percent.",
        "{batt_swap}",
        "(Cold weather|Low temperatures) and frequent events shorten battery life."], [
        "how (long does|long do) the {p} battery (last|batteries last)", "replace the battery in "
        "the {p}"], [
        "{p} (eats|is eating|burns through) (batteries|battery) (way too fast|like crazy|every "
        "few weeks)",
        "(what|which) (batteries|battery) (go|goes) in (my|the) {p} (and how do i swap them|)",
        "(how often|how many weeks) (before|until) the {p} (runs out of juice|goes flat|needs "
        "new batteries)"]),
    _t("charging", "power", ["recharge"], [
        "Charging the {P}", "{P} does not charge"], [
        "(Charge|Recharge) the {P} with the (supplied|included) cable and a {charger_w} W USB "
        "adapter; a full charge takes about {charge_h} hours.",
        "The status light (turns|glows) {col_ok} when charging is complete.",
        "If the {P} does not charge, (try|use) another cable and adapter and (clean|check) the "
        "charging port.",
        "(Charging below 0 degrees C|Charging in freezing weather) is blocked to protect the "
        "battery."], [
        "{p} (is not charging|does not charge)", "how long does the {p} take to charge"], [
        "(plugged|plugged in) (my|the) {p} (all night|overnight) and it's still (flat|at "
        "zero|empty)",
        "(how do i|how long to) (juice up|top up|power up) (the|my) {p}",
        "{p} (won't|wont) take (a|any) charge (anymore|since last week)"]),
    _t("schedules", "features", ["light", "energy", "temp", "vacuum", "filter"], [
        "Schedules and automations for the {P}", "Automate your {P}"], [
        "(Schedules|Routines) (turn the {P} on and off|run the {P}) at set times, (even|also) "
        "when your phone is off.",
        "In the {app} app open the {P}, tap Schedules, Add and choose the days and times.",
        "(Automations|Automation rules) can also start the {P} at sunset or when another {co} "
        "device is triggered.",
        "(Each|Every) device (holds|stores) up to {sched_n} schedules."], [
        "how do i create a schedule for the {p}", "{p} automation"], [
        "(can|could) the {p} (come on|switch on|start) (by itself|automatically|on its own) "
        "(at 7am|every morning|when it gets dark)",
        "(how do i|is there a way to) (put|set) the {p} on a timer",
        "(want|i want) the {p} to (do its thing|run) (every day|at night|while i'm at work) "
        "without me (touching|pressing) anything"]),
    _t("voice", "features", ["voice"], [
        "Use the {P} with Alexa or Google Assistant", "Voice control for the {P}"], [
        "The {P} works with Amazon Alexa and Google Assistant (once you link|after linking) "
        "your {co} account.",
        "In the Alexa app (enable|add) the {co} skill; in Google Home tap Works with Google "
        "and search for {co}.",
        "(Devices keep|Each device keeps) the name you gave it in the {app} app, e.g. say "
        "\"turn on the {cat}\".",
        "(If the assistant cannot find|When the assistant does not find) the {P}, "
        "(unlink and link|relink) the {co} account again."], [
        "how do i use the {p} with (alexa|google assistant)",
        "connect the {p} to (alexa|google home)"], [
        "(echo dot|my echo|hey google|the google nest) (doesn't know|can't find|can't see) my "
        "{p}",
        "(can i|how do i) (talk to|shout at|yell at) the {p} (to turn it on|through my echo|"
        "with my voice)",
        "(saying|when i say) (turn on|switch off) the {p} (does nothing|doesn't work)"]),
    _t("notifications", "features", ["alerts"], [
        "{P} notifications are not arriving", "Setting up {P} notifications"], [
        "(Push notifications|Notifications) from the {P} (need|require) notifications to be "
        "allowed for the {app} app on your phone.",
        "In the {app} app open the {P}, Notifications, and (switch on|turn on) the events you "
        "want.",
        "(Battery saver|Battery optimisation) on Android can delay notifications; exclude the "
        "{app} app from it.",
        "Notifications (are limited|are capped) to one every {notif_s} seconds per device."], [
        "{p} notifications not (arriving|working)", "set up notifications for the {p}"], [
        "(not getting|never get|don't get) (pinged|any pings|messages on my phone) when the {p} "
        "(goes off|sees something|is triggered)",
        "(phone|my phone) (stays|is) silent when (someone's|someone is) at the door (with the|"
        "and the) {p}",
        "{p} (pop ups|alerts on my phone) (stopped|suddenly stopped) (coming|coming through)"]),
    _t("energy", "features", ["energy"], [
        "Energy monitoring on the {P}", "{P} energy reports"], [
        "The {P} (measures|records) energy use and (shows|reports) it in the {app} app under "
        "Energy.",
        "(Enter|Set) your electricity tariff per kWh to see (cost|the cost) per day, "
        "week and month.",
        "(Readings|Energy readings) are accurate to within {acc_pct} percent for loads above "
        "5 W.",
        "(Export|Download) the history as a CSV file from the Energy page."], [
        "energy (monitoring|usage) on the {p}", "{p} energy report"], [
        "(can|does) the {p} (tell me|show) how much (electricity|power|money) (my tv|the "
        "heater|it) (uses|costs)",
        "(where do i see|how do i see) (my|the) (electric bill|power bill) (stuff|numbers) "
        "(on|from) the {p}",
        "{p} (says|shows) (weird|wrong) (kwh|power) (numbers|figures)"]),
    _t("recording", "features", ["video"], [
        "Video recording and storage on the {P}", "Where the {P} stores recordings"], [
        "The {P} records (a video clip|clips) of up to {clip_s} seconds for every event.",
        "(Clips|Recordings) are stored (in the cloud|in {co} cloud storage) for {keep_days} days "
        "with a Guard Plus subscription, or on a microSD card up to {sd_gb} GB.",
        "(Open|Go to) Event history in the {app} app to (watch|play), download or delete "
        "recordings.",
        "Without a subscription or card, the {P} only shows live view."], [
        "where are recordings from the {p} stored", "{p} video storage"], [
        "(how do i|where can i) (watch|find|see) (yesterday's|old|earlier) (footage|videos|"
        "clips) (on|from) (my|the) {p}",
        "(does|will) the {p} (save|keep) (footage|videos) (without paying|for free|without a "
        "plan)",
        "(someone|a guy) (stole|took) my parcel, how do i (get|download) the (footage|video) "
        "from the {p}"]),
    _t("night-vision", "features", ["video"], [
        "{P} night vision and image quality", "Improve the picture of your {P}"], [
        "(Night vision|Infrared night vision) (turns on|switches on) automatically when "
        "it gets dark and (reaches|sees up to) {ir_m} metres.",
        "(Glass|A window) in front of the lens (reflects|bounces back) the infrared light, so "
        "(do not|never) place the {P} behind a window.",
        "(Set|Change) Video quality to {res} in Device settings for the sharpest picture.",
        "(Clean|Wipe) the lens with a dry cloth if the image looks (hazy|blurry)."], [
        "{p} night vision (not working|is poor)", "{p} image quality"], [
        "(picture|video) (from|on) (my|the) {p} is (all white|washed out|black|grainy) (in the "
        "dark|at night)",
        "{p} (image|picture) (looks|is) (fuzzy|blurry|foggy) (since yesterday|lately|)",
        "(can't|cannot) see (anything|a thing) on the {p} (once|when) it gets dark"]),
    _t("access-codes", "features", ["lock"], [
        "Access codes for the {P}", "Create PIN codes on the {P} keypad"], [
        "The {P} (stores|keeps) up to {codes_n} access codes of 4 to 8 digits.",
        "In the {app} app open the {P}, Access codes, Add code; (choose|pick) permanent, "
        "scheduled or one-time.",
        "(One-time|Single-use) codes (expire|stop working) after the first use.",
        "After {lockout_n} wrong codes the keypad (locks|is locked) for 60 seconds."], [
        "how do i create an access code on the {p}", "{p} pin codes"], [
        "(how do i|can i) (give|make) (the cleaner|my dog walker|a guest|airbnb guests) (a "
        "number|their own number|a code) (for|to open) the {p}",
        "{p} keypad (locked me out|stopped taking my number|won't take my passcode)",
        "(set up|make) a (temporary|one off|temp) (combo|door number) on the {p}"]),
    _t("filter-care", "features", ["filter", "vacuum"], [
        "{P} filter and maintenance", "Replacing the filter of the {P}"], [
        "(Replace|Change) the filter of the {P} every {filter_months} months, or when the {app} "
        "app shows Filter life below 10 percent.",
        "(Open|Remove) the back cover, (pull out|take out) the old filter and insert the new "
        "one (with the arrow|arrow side) facing in.",
        "(Reset|Set back) the filter timer in Device settings, Maintenance.",
        "(Genuine|Original) {co} filters cost {price_filter} and come in packs of two."], [
        "how often to replace the {p} filter", "{p} maintenance"], [
        "(the thing inside|the cartridge|the grey insert) (of|in) (my|the) {p} (looks|is) "
        "(filthy|black|disgusting), (swap it how|how do i swap it)",
        "(how often|how many months) (should i|do i need to) (change|swap) (bits|parts) (in|on) "
        "the {p}",
        "{p} (keeps nagging|keeps warning|keeps beeping) about (maintenance|the filter|"
        "cleaning)"]),
    _t("mapping", "features", ["vacuum"], [
        "Room mapping on the {P}", "Editing the map of your {P}"], [
        "The {P} (builds|creates) a map of your home on its first {map_runs} cleaning runs.",
        "In the {app} app open Map, (split|merge) rooms and name them for room-by-room "
        "cleaning.",
        "(Add|Draw) no-go zones to keep the {P} away from cables or pet bowls.",
        "The {P} (saves|remembers) up to {maps_n} maps for homes with several floors."], [
        "how do i edit the map of the {p}", "{p} room mapping and no-go zones"], [
        "{p} (keeps|won't stop) (getting stuck|going) (under the sofa|in the kids room|near the "
        "dog bowl)",
        "(how do i|can i) (tell|teach) the {p} (which room is which|the kitchen from the "
        "hall|my layout)",
        "{p} (forgot|lost) (the floor plan|my house layout|where the rooms are)"]),
    _t("calibrate", "features", ["temp"], [
        "{P} temperature reading is wrong", "Calibrating the {P}"], [
        "The {P} (measures|reads) temperature to within {acc_c} degrees C.",
        "(Place|Mount) it away from radiators, lamps and direct sunlight, which (raise|distort) "
        "the reading.",
        "(To correct the reading|To calibrate it), open Device settings, Temperature offset and "
        "set a value between -3 and +3 degrees.",
        "(The {P} supports|It supports) heating and cooling systems with a common (C) wire."], [
        "{p} temperature reading is wrong", "calibrate the {p}"], [
        "{p} (says|shows) (it's|its) (21|22|20) (but|while) (the room is freezing|my other "
        "thermometer says 18|it feels colder)",
        "(house|the house) (is|feels) (way|much) (colder|warmer) than (what|) the {p} (shows|"
        "reads)",
        "(fix|adjust) the (wrong|off) (number|temperature) on the {p}"]),
    _t("colours", "features", ["colour"], [
        "Colours and scenes on the {P}", "Change the colour of the {P}"], [
        "The {P} (shows|produces) 16 million colours and white from {kelvin_lo} K to "
        "{kelvin_hi} K.",
        "In the {app} app (tap|open) the {P} and use the colour wheel, or choose a Scene.",
        "(Scenes|Light scenes) (set|change) several lights at once, e.g. Reading or Movie night.",
        "Brightness reaches {lumen} lumens at full white."], [
        "how do i change the colour of the {p}", "{p} scenes and colours"], [
        "(can|how do i make) (my|the) {p} (go|turn) (purple|red|warm orange|party colours)",
        "(want|i want) (a cosy|a movie|a chill) (vibe|mood) with the {p}",
        "(the|my) {p} (is|looks) too (blue|cold|harsh), (warmer|make it warmer)"]),
    _t("accessories", "billing", [], [
        "Accessories and spare parts for the {P}", "Buying parts for the {P}"], [
        "(Genuine|Original) accessories for the {P} (are sold|can be bought) in the {co} store "
        "and the {app} app.",
        "(Popular|Common) parts: {acc1} ({price_acc1}) and {acc2} ({price_acc2}).",
        "(Third-party|Non-genuine) parts may damage the {cat} and are not covered by the "
        "warranty.",
        "(Orders|Parts orders) (ship|are shipped) within {ship_days} working days."], [
        "buy (spare parts|accessories) for the {p}", "{p} {acc1} price"], [
        "(where can i|how do i) (get|buy|order) (a new|another|a spare) {acc1} (for|that fits) "
        "(my|the) {p}",
        "(lost|broke) the {acc2} (of|for) (my|the) {p}, (can i buy one|where to get another)",
        "(how much is|price of) (a replacement|a new|another) {acc1} (for the|) {p}"]),
    _t("returns", "returns", [], [
        "Returning the {P}", "How to return your {P}"], [
        "You can return the {P} (if you are not satisfied|for any reason) within the return "
        "window of your region.",
        "(Start the return|Request a return) in your {co} account under Orders, choose the "
        "{P} and print the prepaid label.",
        "(Factory reset|Reset) the {cat} and pack it with all accessories in the original box.",
        "The refund (goes|is paid) to the original payment method once the warehouse (checks|"
        "has checked) the {P}."], [
        "how do i return the {p}", "{p} return and refund"], [
        "(not happy with|don't like|hate) (my|the) {p}, (can i|how do i) (get my money back|"
        "send it back|ship it back)",
        "(want|i want) to (send back|take back|get rid of) the {p} (i bought|i got) (last "
        "week|a few days ago|this month)",
        "{p} (is rubbish|isn't for me|doesn't suit us), (money back|cash back) (please|how)"],
        policy="refund:window"),
    _t("warranty-claim", "warranty", [], [
        "Warranty claim for the {P}", "{P} warranty and repairs"], [
        "The {P} (comes with|has) a {warranty_years}-year limited warranty against (defects|"
        "faults) in materials and workmanship.",
        "(To make a claim|To claim), open a support request with the serial number, "
        "(proof of purchase|your receipt) and a short video of the fault.",
        "(If the fault is confirmed|When support confirms the fault), {co} sends a replacement "
        "{cat} before you return the faulty one.",
        "(Damage from drops|Physical damage), water (damage|ingress) or opened cases are not "
        "covered."], [
        "{p} warranty claim", "is my {p} still under warranty"], [
        "(my|the) {p} (broke|packed up|died) after (a year|8 months|18 months), (is that "
        "covered|will you fix it|do i get a new one)",
        "(will you|do you) (fix|replace|swap) (a faulty|a broken|my busted) {p} (for free|"
        "without charge)",
        "(how long is|what's) the (guarantee|cover) on (the|my) {p}"],
        policy="warranty:claim"),
    _t("arrived-damaged", "shipping", [], [
        "The {P} arrived damaged or incomplete", "Damaged {P} on delivery"], [
        "If your {P} arrived damaged or with parts missing, (tell us|report it) within "
        "{report_days} days of delivery.",
        "(Take photos|Photograph) the {cat}, the box and the shipping label, and (send|attach) "
        "them in a support request.",
        "{co} (ships|sends) a replacement {P} at no cost; you do not need to return the "
        "damaged one first.",
        "(Missing|Lost) accessories such as the {acc1} (are sent|ship) separately."], [
        "{p} arrived damaged", "{p} delivered with missing parts"], [
        "(box|the parcel|the package) (was smashed|came crushed|was soaking wet) and (my|the) "
        "{p} (is cracked|won't work|rattles)",
        "(opened|unboxed) (my|the) {p} and (there's no|no) {acc1} (in the box|inside)",
        "(courier|the delivery guy|the postman) (threw|dropped) (my|the) {p} (and it's broken|"
        "and now it's cracked)"],
        policy="shipping:damaged"),
    _t("subscription", "subscription", ["sub"], [
        "Guard Plus subscription for the {P}", "Do I need a subscription for the {P}?"], [
        "The {P} works without a subscription: live view, motion alerts and two-way talk are "
        "free.",
        "Guard Plus adds {keep_days} days of cloud video history, smart detection of people "
        "and packages and rich notifications.",
        "(Start|Begin) a 30-day free trial in the {app} app under Plans; (you can cancel|"
        "cancel) any time.",
        "One Guard Plus plan covers every camera and doorbell at one address."], [
        "do i need a subscription for the {p}", "guard plus (plan|subscription) for the {p}"], [
        "(do i have to|must i) (pay monthly|pay every month|keep paying) to use (my|the) {p}",
        "(what|what else) do i get (if i pay|for the monthly fee|with the membership) on the {p}",
        "(is the|is) {p} (useless|any good) without (a membership|the monthly thing|paying)"],
        policy="subscription:plans"),
    _t("compatibility", "setup", [], [
        "{P} requirements and compatibility", "What you need for the {P}"], [
        "The {P} (requires|needs) the {app} app on iOS {ios} or later or Android {android} or "
        "later.",
        "{compat_need}",
        "It (works|is compatible) with Amazon Alexa, Google Home and (Apple Home|IFTTT) "
        "({matter}).",
        "(Dimensions|Size): {dims} mm; (weight|it weighs) {weight_g} g."], [
        "{p} (requirements|compatibility)", "is the {p} compatible with my phone"], [
        "will the {p} work with my (old iphone|samsung|ipad|cheap android) (phone|)",
        "(do i need|is there) anything else (to buy|extra) (for|before getting) the {p}",
        "(does|can) the {p} (play nice|work) with (apple stuff|my google speakers|siri)"]),
    _t("privacy-data", "privacy", ["video", "mic"], [
        "{P}: what data is recorded and who can see it", "Privacy and the {P}"], [
        "The {P} (sends|uploads) video and audio (only|just) when an event (is detected|"
        "starts) or when you open live view.",
        "(Recordings|Clips) are encrypted in transit and at rest; {co} staff cannot (view|watch) "
        "them without your permission.",
        "Only (members of your home|people you invited) can see the {P}'s live view and "
        "history.",
        "(See|Read) the privacy policy for your region to request or delete your data."], [
        "who can see the (video|recordings) of my {p}", "{p} privacy"], [
        "(can|could) (your staff|lumora people|hackers|anyone) (watch|spy on) me through (my|"
        "the) {p}",
        "(is|does) the {p} (listening|always listening|recording all the time) (to us|in our "
        "house|)",
        "(where does|who gets) the (footage|info|stuff) (from|recorded by) (my|the) {p} (go|"
        "end up)"],
        policy="privacy:recordings"),
    _t("privacy-mode", "privacy", ["video", "mic"], [
        "Privacy mode on the {P}", "Turn off the camera and microphone of the {P}"], [
        "Privacy mode (stops|turns off) the camera and microphone of the {P} (until you "
        "switch it off|until you turn it back on).",
        "(Switch it on|Turn it on) from the shield icon in the {app} app or (automatically|"
        "on its own) when your phone arrives home (geofencing).",
        "While privacy mode is on, the status light (glows|is) {col_off} and nothing is "
        "recorded.",
        "The {P} {privacy_hw}"], [
        "turn on privacy mode on the {p}", "disable the microphone of the {p}"], [
        "(how do i|can i) (stop|make) the {p} (from watching|stop watching) (us|me) when "
        "(we're home|i'm home)",
        "(cover|switch off) the (eye|lens|mic) (on|of) the {p} (at night|when home|for a bit)",
        "(mute|blind) the {p} (so it can't hear us|while we're in|temporarily)"]),
    _t("move-home", "account", [], [
        "Moving house with the {P}", "Transfer the {P} to a new owner"], [
        "(When you move house|If you move home), remove the {P} from your home in the {app} app "
        "before you leave.",
        "(Factory reset|Reset) the {P} so that the new owner can add it to their own {co} "
        "account.",
        "(To take it with you|If you take it along), set it up again at the new address; "
        "schedules must be recreated.",
        "(Transfer of|Transferring) the warranty to a new owner (requires|needs) the original "
        "proof of purchase."], [
        "moving house with the {p}", "transfer the {p} to a new owner"], [
        "(we're selling|selling) the house, (do i leave|should i leave|what about) the {p} "
        "(for the buyers|behind)",
        "(bought a house|just moved in) (and|where) (there's|there is) a {p} (from the old "
        "owner|already) (on the wall|installed)",
        "(taking|bringing) (my|the) {p} to (my new place|the new flat), what (do i need|do i "
        "have) to do"]),
    _t("power-outage", "troubleshooting", ["mains", "wired", "hub"], [
        "What happens to the {P} after a power cut", "{P} behaviour after a power outage"], [
        "After a power cut the {P} (restarts|boots) (by itself|automatically) and (returns to|"
        "restores) its last state within {boot_s} seconds.",
        "(Change|Set) Power-on behaviour in Device settings to Always on, Always off or Last "
        "state.",
        "Schedules (resume|continue) once the {cat} (has|gets) its time back from the internet.",
        "(Frequent|Repeated) power cuts can corrupt settings; a factory reset (fixes|solves) "
        "this."], [
        "{p} after a power cut", "{p} power outage behaviour"], [
        "(every time|whenever) the (electric goes|power goes out|lights go out) (my|the) {p} "
        "(comes back on|turns on) (by itself|at 3am|full blast)",
        "(we had|had) a (blackout|storm) and (now|since then) the {p} (is acting up|won't "
        "behave|forgot everything)",
        "(stop|keep) the {p} (from switching on|off) (after|when) the (mains|electric) (comes "
        "back|is restored)"]),
    _t("rename-room", "account", [], [
        "Rename the {P} or move it to another room", "Organise the {P} in rooms"], [
        "(Give|Choose) the {P} a clear name so that voice assistants and (automations|routines) "
        "find it.",
        "In the {app} app open the {P}, tap the gear icon, then Name and room.",
        "(Moving|Assigning) the {cat} to another room (keeps|does not change) its schedules.",
        "(Names|Device names) can have up to {name_len} characters."], [
        "rename the {p}", "move the {p} to another room in the app"], [
        "(how do i|can i) (call|label) (my|the) {p} (something else|kitchen one|by a nicer "
        "name)",
        "{p} (is listed|shows up) (under|in) the wrong (room|part of the house) (in the app|)",
        "(change|swap) (what the app calls|the label of) (my|the) {p}"]),
    _t("status-light-off", "features", [], [
        "Turn off or dim the {P} status light", "Status light settings of the {P}"], [
        "The status light of the {P} can be dimmed or (switched off|turned off) in Device "
        "settings, Status light.",
        "(Night mode|Status light night mode) turns the light off between {night_h}:00 and "
        "7:00.",
        "Warnings such as low battery or no connection still (show|flash) when the light is "
        "off.",
        "(Turning the light off|Disabling the light) does not affect how the {cat} works."], [
        "turn off the status light of the {p}", "dim the {p} light"], [
        "(the|that) (little|bright|annoying) light on the {p} (keeps me awake|is too bright) "
        "(at night|in the bedroom)",
        "(can i|how do i) (kill|stop|hide) the (glow|little light) (on|from) (my|the) {p}",
        "{p} (lights up|glows) the whole (room|bedroom) at night"]),
    _t("activity-log", "features", [], [
        "See the activity history of the {P}", "{P} history and activity log"], [
        "The (Activity|History) tab of the {P} lists every event, command and change with "
        "the time and who made it.",
        "(History|The history) is kept for {hist_days} days in the {app} app.",
        "(Filter|You can filter) the list by event type or by (home member|person).",
        "(Export|Download) the history as a CSV file from the same screen."], [
        "activity history of the {p}", "{p} event log"], [
        "(who|which of the kids) (turned|switched) (on|off) the {p} (last night|while i was "
        "out|)",
        "(can i|how do i) (see|check) what the {p} (did|has been doing) (yesterday|last week|"
        "today)",
        "(when|at what time) (did|was) the {p} (last|) (used|triggered|changed)"]),
    _t("time-zone", "troubleshooting", [], [
        "{P} shows the wrong time", "Time and time zone of the {P}"], [
        "The {P} (takes|gets) its time from the internet (and|using) the time zone of your "
        "home in the {app} app.",
        "(If the time is wrong|When the time is off), open Home settings, Location and check "
        "the time zone.",
        "(Daylight saving|Summer time) (changes|switches) (automatically|by itself) when the "
        "time zone is right.",
        "(Schedules|Timers) (run|follow) the {cat}'s local time."], [
        "{p} shows the wrong time", "time zone of the {p}"], [
        "(my|the) {p} (is|runs) (an hour|one hour|1 hr) (late|early|off) (since the clocks "
        "changed|after the clocks went back|)",
        "(timer|the schedule) on the {p} (kicks in|goes off) at the wrong (hour|time)",
        "{p} (thinks|believes) (it's|it is) (still|) (summer|winter|a different time)"]),
    _t("child-lock", "features", ["light", "filter", "vacuum", "energy", "temp"], [
        "Child lock on the {P}", "Lock the buttons of the {P}"], [
        "Child lock (disables|locks) the physical buttons of the {P} while the {app} app "
        "(keeps working|still works).",
        "(Turn it on|Switch it on) in Device settings, Child lock, or hold the {button} for "
        "{lock_s} seconds.",
        "(A short beep|The status light) (confirms|shows) that the lock is on.",
        "(Voice control|Voice commands) and schedules still work with child lock on."], [
        "child lock on the {p}", "lock the buttons of the {p}"], [
        "(my|the) (toddler|kids|little one|cat) (keeps|keep) (pressing|messing with) the "
        "(buttons|button) on the {p}",
        "(stop|keep) (the kids|my son|my daughter) (from|) (turning|switching) the {p} (on and "
        "off|off)",
        "(can i|is there a way to) (freeze|block) the (buttons|controls) (on|of) the {p}"]),
]

PLURAL_POWER = {
    "mains": "Check that the socket works with another appliance and that the power adapter "
             "is the one supplied with the {P}.",
    "wired": "Check the circuit breaker and that the wires in the terminal block are tight; "
             "the {P} needs a steady {volt} V supply.",
    "battery": "Replace the {battery} and check that they sit the right way round.",
    "recharge": "Connect the {P} to a {charger_w} W USB charger; a fully drained battery "
                "shows no light for the first minutes.",
}

#: policy aspect topics, one article per region
POLICY_TOPICS: List[_Topic] = [
    _t("refund:window", "refund", [], [
        "Return policy in {country}", "Returns and refunds in {country}: the return window"], [
        "In {country} you can return (most|any) {co} products within {ret_days} days of "
        "delivery for a full refund.",
        "{withdraw}",
        "(Items must be|Products must be) returned with all accessories; opened items are "
        "accepted (if undamaged|when not damaged).",
        "(Return shipping|Shipping for returns) is free with the prepaid {carrier} label."], [
        "return policy in {country_bare}", "how many days do i have to return (an item|a "
        "product) in {country_bare}"], [
        "(how long|how many days) (have i got|do i have) to (send stuff back|change my mind|get "
        "my money back) {here}",
        "(is it|is it too) late to (send back|return) (something|my order) (i got|bought) "
        "(a month ago|3 weeks ago) {here}",
        "(can i|do i) get (a full|my) (money back|cash back) (on|for) (opened|used) (stuff|"
        "things) {here}"]),
    _t("refund:timing", "refund", [], [
        "When will I get my refund? ({short})", "Refund times in {country}"], [
        "(Refunds|Your refund) in {country} (are|is) (issued|paid) within {refund_days} "
        "working days after the warehouse receives the return.",
        "The money goes back to the original payment method; bank transfers can take "
        "(3 more days|a few more days).",
        "(You receive|We send) an email when the refund (is issued|has been issued).",
        "Original shipping costs (are refunded|are paid back) when the whole order is "
        "returned."], [
        "how long does a refund take in {country_bare}", "refund (not received|status)"], [
        "(sent|posted) (my|the) (return|stuff) back (two weeks ago|ages ago|last week) and "
        "(still no|no) (money|cash) {here}",
        "(when do i|when will i) (see|get) (the money|my money|the cash) back (on my card|in my "
        "account) {here}",
        "(where's|where is) my (money|cash) (from|for) the (return|thing i sent back) {here}"]),
    _t("refund:exclusions", "refund", [], [
        "Items that cannot be returned in {country}", "Return exceptions and restocking fees "
        "({short})"], [
        "(Some items|A few items) cannot be returned in {country}: gift cards, (downloaded "
        "software|digital plans) and filters that have been used.",
        "(A restocking fee of|A fee of) {restock} (applies|is charged) to returns that arrive "
        "damaged or incomplete.",
        "(Subscriptions|Plans) are refunded pro rata only where the law (requires|demands) it.",
        "Products bought from (other retailers|other shops) must be returned to that retailer."], [
        "which items cannot be returned in {country_bare}", "restocking fee {country_bare}"], [
        "(bought|got) it (on amazon|from a shop|at best buy|in a store), can i (send it back|"
        "return it) to you {here}",
        "(will you|do you) (charge me|take money off) (for|if) (a missing box|opened stuff|"
        "sending it back) {here}",
        "(can i|can you) (get money back|refund) (for a|on a) (gift card|used filter) {here}"]),
    _t("warranty:coverage", "warranty", [], [
        "Warranty coverage in {country}", "{co} limited warranty ({short})"], [
        "In {country} {co} hardware (has|comes with) a limited warranty of at least "
        "{warranty_region} years from the date of delivery.",
        "The warranty (covers|includes) manufacturing defects and failures under normal use.",
        "It does not cover (accidental damage|drops and spills), normal wear, batteries that "
        "lose capacity over time or (unauthorised repairs|repairs by others).",
        "{legal}"], [
        "warranty coverage in {country_bare}", "how long is the warranty in {country_bare}"], [
        "(how many years|how long) (am i|are we) (covered|protected) (if|when) (stuff|something) "
        "(breaks|dies) {here}",
        "(is|does) (dropping|a spill on|cracking) (it|my device) (covered|count) {here}",
        "(what|which) (breakages|faults) (do you|will you) (pay for|fix) {here}"]),
    _t("warranty:claim", "warranty", [], [
        "How to make a warranty claim in {country}", "Warranty claims ({short})"], [
        "(To make|To start) a warranty claim in {country}, contact support with the serial "
        "number and (proof of purchase|your receipt).",
        "(Support|An agent) (checks|troubleshoots) the fault with you first; "
        "(most claims|claims) are decided within {claim_days} working days.",
        "Approved claims get an advance replacement shipped by {carrier}; (return|send back) "
        "the faulty unit within 30 days.",
        "(Repairs|Replacements) under warranty do not extend the original warranty period."], [
        "how to make a warranty claim in {country_bare}", "warranty claim process"], [
        "(thing|device|gadget) (broke|died|packed in) (on me|), (how do i|where do i) (get "
        "it fixed|claim a new one) {here}",
        "(do you|will you) (send|post) (a new one|a replacement) before i (send|post) the "
        "(broken|old) one {here}",
        "(no receipt|lost the receipt|no proof of purchase), can i (still|) get (it fixed|a "
        "replacement) {here}"]),
    _t("warranty:void", "warranty", [], [
        "What voids the warranty ({short})", "Warranty exclusions in {country}"], [
        "(Opening the case|Opening the device), (modifying|changing) the firmware or using "
        "non-genuine power adapters (voids|cancels) the warranty in {country}.",
        "(Products bought second-hand|Second-hand products) keep the remaining warranty when "
        "the original proof of purchase is available.",
        "(Devices used commercially|Commercial use) (are covered|is covered) for 1 year.",
        "(Cosmetic damage|Scratches and dents) that do not affect function (are not "
        "covered|is not covered)."], [
        "what voids the warranty in {country_bare}", "second-hand warranty {country_bare}"], [
        "(bought|got) it (off ebay|second hand|used from a friend), (is it still|am i still) "
        "(covered|protected) {here}",
        "(if i|will i lose cover if i) (open it up|take it apart|use a different charger) "
        "{here}",
        "(scratched|dented) (the case|it) (a bit|slightly), (still covered|is that covered) "
        "{here}"]),
    _t("shipping:delivery", "shipping", [], [
        "Delivery times and costs in {country}", "Shipping options ({short})"], [
        "Orders in {country} (ship|are shipped) with {carrier} and arrive in {ship_days} "
        "working days.",
        "(Standard delivery|Delivery) costs {ship_cost} and is free on orders over {free_over}.",
        "Express delivery (arrives|delivers) the next working day for {express_cost} when you "
        "order before 2 pm.",
        "(We do not deliver|Delivery is not available) to PO boxes."], [
        "delivery times in {country_bare}", "shipping cost {country_bare}"], [
        "(how fast|how quick) (can|will) (you get|i get) (my order|my stuff|it) (to me|here) "
        "{here}",
        "(is postage|is the postage) free (if i spend|over) (enough|a certain amount) {here}",
        "(next day|tomorrow) (delivery|arrival) (possible|available)? {here}"]),
    _t("shipping:tracking", "shipping", [], [
        "Tracking your order ({short})", "Where is my order? ({country})"], [
        "(When your order ships|Once your order has shipped) you receive an email with the "
        "{carrier} tracking number.",
        "(You can|You can also) follow the order in your {co} account under Orders.",
        "(Tracking|The tracking page) updates within 24 hours of dispatch.",
        "If the parcel (has not moved|shows no movement) for {stuck_days} days, contact "
        "support and we open an investigation with {carrier}."], [
        "track my order in {country_bare}", "where is my order"], [
        "(where's|where is) my (parcel|package|stuff) (it's been|been) (a week|ages|5 days) "
        "{here}",
        "(courier|the delivery) (website|page) (hasn't|has not) (moved|updated) (for days|since "
        "monday) {here}",
        "(no email|never got an email) (about|with) (the|a) (delivery|parcel number) {here}"]),
    _t("shipping:damaged", "shipping", [], [
        "Damaged or missing parcels in {country}", "Reporting a delivery problem ({short})"], [
        "Report a damaged, missing or incomplete delivery in {country} within {report_days} "
        "days.",
        "(Send|Attach) photos of the parcel and the label; {co} files the claim with {carrier} "
        "for you.",
        "(A replacement|Replacements) (ship|are shipped) free of charge, (usually|normally) "
        "the same day.",
        "Parcels marked delivered but not received are investigated (within|for up to) 5 "
        "working days."], [
        "report a damaged delivery in {country_bare}", "parcel missing"], [
        "(app says|it says|tracking says) (delivered|it was delivered) but (there's nothing|"
        "nothing arrived|no parcel) {here}",
        "(box|parcel) (turned up|arrived) (crushed|soaked|ripped open) {here}",
        "(neighbour|someone) (might have|probably) (nicked|taken) my (parcel|package) {here}"]),
    _t("shipping:customs", "shipping", [], [
        "International orders and customs ({short})", "Customs duties for orders to {country}"], [
        "Orders to {country} (are sent|ship) from our local warehouse, so no customs duties "
        "(apply|are charged).",
        "Prices (include|already include) {tax}.",
        "(We cannot|We do not) ship orders from the {short} store to other countries.",
        "(Orders|Parcels) to remote areas (may take|can take) 2 extra days."], [
        "customs duties on orders to {country_bare}", "international shipping"], [
        "(will i|do i) (have to pay|get charged) (extra|more) (at the door|on delivery|for "
        "import) {here}",
        "(is the|is) (tax|{tax}) (on top|included) (of the price|or extra) {here}",
        "(can|could) (you|i) (ship|send) (my order|it) to (my cousin|family|a friend) (abroad|"
        "in another country)"]),
    _t("privacy:data", "privacy", [], [
        "What personal data {co} collects ({short})", "Privacy notice for {country}"], [
        "{co} collects account details, device data (such as status and firmware) and, for "
        "cameras, the recordings you choose to keep.",
        "(Data|Your data) is (processed|handled) under {law} and stored in {dc}.",
        "(We never sell|{co} never sells) personal data or uses recordings for advertising.",
        "Diagnostic data helps (fix bugs|improve products) and can be switched off in the "
        "{app} app."], [
        "what personal data does {co} collect", "privacy policy {country_bare}"], [
        "(what do you|what does the company) (know|keep|store) about me {here}",
        "(do you|does {co}) (sell|pass on|share) my (info|details|stuff) to (advertisers|other "
        "companies) {here}",
        "(where|which country) (is|are) my (data|info|videos) (kept|stored) {here}"]),
    _t("privacy:delete", "privacy", [], [
        "Request or delete your data in {country}", "Your data rights ({short})"], [
        "Under {law} you can (request a copy of|download) your data or ask us to delete it.",
        "In the {app} app open Account, Privacy, and (tap|choose) Download my data or Delete "
        "my data.",
        "(Requests|Data requests) are completed within {dsr_days} days.",
        "(Deleting your data|Deletion) also (closes|removes) your {co} account and "
        "(subscriptions|every subscription)."], [
        "delete my data in {country_bare}", "request a copy of my data"], [
        "(want|i want) (you to|you guys to) (forget|wipe|erase) (everything|all) (about me|you "
        "have on me) {here}",
        "(how do i|can i) (get|see) (everything|all the stuff) you (have|store) on me {here}",
        "(remove|get rid of) (my|all my) (info|details|records) (from your|from the) "
        "(systems|servers) {here}"]),
    _t("privacy:recordings", "privacy", [], [
        "Video recordings and privacy in {country}", "Camera recordings and the law ({short})"], [
        "(In|Under the rules of) {country}, you (are responsible|remain responsible) for "
        "(how|where) your cameras record.",
        "(Avoid pointing|Do not point) cameras at (a neighbour's property|your neighbours' "
        "gardens) or (public|the public) street; use privacy zones to mask them.",
        "Recordings are (kept|stored) for the length of your plan and then deleted (for "
        "good|permanently).",
        "(Share|Download) clips for the police from Event history."], [
        "camera recording rules in {country_bare}", "video privacy and neighbours"], [
        "(neighbour|my neighbour) (complained|is angry|says) (my|the) (camera|cam) (films|"
        "looks at) (their|his) (garden|driveway) {here}",
        "(am i|is it) (allowed|legal) to (film|record) the (street|pavement|path) {here}",
        "(how long|for how long) (do you|are) (keep|the) (videos|clips|recordings) (kept|) "
        "{here}"]),
    _t("subscription:plans", "subscription", [], [
        "Guard Plus plans and prices in {country}", "Subscription plans ({short})"], [
        "Guard Plus (costs|is) {sub_basic} a month for one camera and {sub_multi} a month for "
        "every camera at one address in {country}.",
        "(Yearly|Annual) plans save (two months|about 15 percent).",
        "(Plans|Both plans) include {keep_days_r} days of video history and person and package "
        "detection.",
        "Prices include {tax}; (you can|you may) change plan at any time."], [
        "guard plus price in {country_bare}", "subscription plans and prices"], [
        "(how much|what) (is|does) the (monthly thing|membership|camera plan) (cost|come to) "
        "{here}",
        "(cheapest|cheaper) (way|option) (to|for) (keep|keeping) (videos|footage) {here}",
        "(pay|paying) (once a year|yearly|annually) (instead|rather than monthly), (cheaper?|"
        "any discount) {here}"]),
    _t("subscription:cancel", "subscription", [], [
        "Cancel your Guard Plus subscription ({short})", "Cancelling a plan in {country}"], [
        "(Cancel|You can cancel) Guard Plus (at any time|any time) in the {app} app under "
        "Account, Plans, Cancel plan.",
        "The plan (stays active|keeps working) until the end of the paid period; recordings "
        "are deleted {grace_days} days later.",
        "(Plans bought|Subscriptions bought) through the App Store or Google Play must be "
        "cancelled there.",
        "(No cancellation fee|There is no cancellation fee) in {country}."], [
        "cancel my guard plus subscription", "cancel plan {country_bare}"], [
        "(how do i|need to) (stop paying|stop the payments) (for|on) the (camera plan|monthly "
        "thing|membership) {here}",
        "(get out of|quit|end) (my|the) (membership|monthly fee) (right now|today|asap) {here}",
        "(still|keep) (being charged|getting charged) (after|even though i) (stopping|stopped) "
        "(the plan|it) {here}"]),
    _t("subscription:trial", "subscription", [], [
        "Guard Plus free trial ({short})", "Free trial terms in {country}"], [
        "New (customers|Guard Plus customers) in {country} get a 30-day free trial (with|on) "
        "their first camera or doorbell.",
        "(A payment method is needed|You need a payment method) to start the trial; "
        "(nothing is charged|you are not charged) until it ends.",
        "(We remind you|You get a reminder) by email 3 days before the trial ends.",
        "(One trial|Only one trial) (per account|is allowed per account)."], [
        "guard plus free trial", "free trial terms {country_bare}"], [
        "(do i get|is there) (a free go|a free month|some free time) (before paying|first) "
        "{here}",
        "(will you|do you) (charge|bill) (me|my card) (when|after) the (free month|free bit) "
        "(ends|runs out) {here}",
        "(second|another) (free month|trial) (for my|on a) (new|second) camera {here}"]),
    _t("payment:methods", "payment", [], [
        "Payment methods accepted in {country}", "How to pay ({short})"], [
        "In {country} the {co} store accepts {pay_methods}.",
        "(Payment|Your card) is (taken|charged) when the order ships.",
        "(Change|Update) the card for subscriptions in the {app} app under Account, Payment.",
        "(We do not accept|We cannot accept) cash on delivery or cheques."], [
        "payment methods accepted in {country_bare}", "change payment card"], [
        "(can i|do you let me) (pay with|use) (my|) (paypal|apple pay|a debit card|klarna) "
        "{here}",
        "(my card|the card) (expired|is new), (how do i|where do i) (put|add) the new one "
        "{here}",
        "(when|at what point) (do you|will you) (take|grab) the money {here}"]),
    _t("payment:invoice", "payment", [], [
        "Invoices and {tax} receipts ({short})", "Download an invoice in {country}"], [
        "(Invoices|Your invoices) are (available|ready) in your {co} account under Orders "
        "(once the order ships|after shipping).",
        "Each invoice shows {tax} (separately|as a separate line).",
        "(Business customers|Companies) can add a tax number before ordering.",
        "(Subscription invoices|Invoices for plans) are emailed every billing period."], [
        "download invoice {country_bare}", "{tax} receipt"], [
        "(need|i need) (a proper|a) (bill|receipt|paper) (for my boss|for expenses|for work) "
        "{here}",
        "(where's|where is) (the|my) (proof of purchase|receipt) (for what i bought|for my "
        "order) {here}",
        "(add|put) (my company|the business) name on the (bill|receipt) {here}"]),
    _t("payment:failed", "payment", [], [
        "Payment failed or declined ({short})", "Declined card payments in {country}"], [
        "(A declined payment|A failed payment) in {country} (usually means|is usually caused "
        "by) an expired card or a security check by your bank.",
        "(Check|Confirm) the card details and approve the payment in your banking app.",
        "(Failed subscription payments|For plans, failed payments) are retried after "
        "{retry_days} days; the plan pauses after the third attempt.",
        "(Your order is kept|Orders are held) for 48 hours while you retry."], [
        "payment (failed|declined) in {country_bare}", "card declined"], [
        "(checkout|the shop) (keeps|won't stop) (rejecting|bouncing) my card {here}",
        "(bank|my bank) (says|said) (it's fine|nothing's wrong) but (you|the site) (won't take|"
        "refuse) (the money|my card) {here}",
        "(the camera plan|my membership) (got paused|stopped) (because|cause) (the money|"
        "payment) (didn't go through|bounced) {here}"]),
    _t("payment:promo", "payment", [], [
        "Discount codes and gift cards ({short})", "Using a promo code in {country}"], [
        "(Enter|Type) discount codes and gift cards at checkout in the Promo code field.",
        "(One code|Only one discount code) (can be used|applies) per order in {country}.",
        "(Gift cards|{co} gift cards) (are valid|stay valid) for {gift_years} years and "
        "cannot be exchanged for cash.",
        "(Codes|Discount codes) do not apply to Guard Plus (plans|subscriptions)."], [
        "discount code not working", "gift card {country_bare}"], [
        "(the|my) (voucher|coupon|money off thing) (won't work|doesn't work|is rejected) "
        "{here}",
        "(can i|can you) (stack|combine|use) (two|2) (coupons|vouchers) {here}",
        "(got|have) (a gift voucher|a present card) (for christmas|for my birthday), how "
        "(do i use it|to spend it) {here}"]),
]

#: account topics (one article each, no product, no region)
ACCOUNT_TOPICS: List[_Topic] = [
    _t("sign-in", "account", [], [
        "Cannot sign in to the {app} app", "Sign-in problems"], [
        "If you cannot sign in to the {app} app, (check|make sure) you use the email address of "
        "your {co} account.",
        "(Accounts|An account) (lock|is locked) for 15 minutes after 5 wrong passwords.",
        "(Update|Install the latest version of) the {app} app; versions older than {app_v} "
        "can no longer sign in.",
        "Sign in with Apple or Google only works if you created the account that way."], [
        "cannot sign in to the {app} app", "sign in problem"], [
        "(app|the app) (keeps|won't stop) (kicking me out|logging me out|saying wrong details)",
        "(locked out|i'm locked out) of (the app|my profile|my login)",
        "(can't|cannot) (get into|log into) (my|the) (app|profile) (anymore|since the update)"]),
    _t("password-reset", "account", [], [
        "Reset your {co} password", "Forgotten password"], [
        "(To reset your password|If you forgot your password), tap Forgot password on the "
        "sign-in screen and enter your email address.",
        "(The reset link|The link) in the email (is valid|works) for {link_min} minutes.",
        "(Check|Look in) the spam folder if the email does not arrive within 5 minutes.",
        "(Passwords must have|A password needs) at least 10 characters."], [
        "reset my password", "forgot password"], [
        "(forgot|can't remember) my (log in details|login|pass word)",
        "(never got|no) (the email|an email) to (change|fix) my (login|pass word)",
        "(link|the link) (to change|for) my (login|pass word) (doesn't work|expired)"]),
    _t("two-factor", "account", [], [
        "Two-step verification", "Set up two-factor authentication"], [
        "Two-step verification (adds|asks for) a 6-digit code from an authenticator app or "
        "text message when you sign in.",
        "(Turn it on|Enable it) in the {app} app under Account, Security.",
        "(Save|Keep) the backup codes; each works once.",
        "(If you lost your phone|Without your phone), sign in with a backup code or contact "
        "support (with ID|to verify your identity)."], [
        "set up two-factor authentication", "two-step verification code"], [
        "(got|have) a new phone and (can't|cannot) get (the|my) (6 digit|login) (number|code) "
        "anymore",
        "(extra|additional) (security|protection) (for|on) my (login|profile) (how|?)",
        "(text|sms) (code|number) (never comes|doesn't arrive) when i log in"]),
    _t("delete-account", "account", [], [
        "Delete your {co} account", "Closing your account"], [
        "(Deleting|When you delete) your {co} account (removes|erases) every home, device and "
        "recording.",
        "(Cancel|End) any Guard Plus plan first; (open|go to) Account, Privacy, Delete account.",
        "(Deletion|The deletion) (is final|cannot be undone) after {grace_days} days.",
        "Devices must be (reset|factory reset) before anyone else can use them."], [
        "delete my account", "close account"], [
        "(done with|finished with|sick of) (your company|lumora|this stuff), (remove|get rid "
        "of) my (profile|login) for good",
        "(how do i|want to) (shut down|close down|kill) my (profile|user)",
        "(erase|wipe) my (profile|user) (and everything|and all my stuff)"]),
    _t("change-email", "account", [], [
        "Change the email address of your account", "Update your account email"], [
        "(Change|You can change) the email address of your {co} account in the {app} app under "
        "Account, Profile.",
        "(We send|A link is sent) to the new address; the change (applies|takes effect) once "
        "you confirm it.",
        "(Your devices|Devices) and plans stay (linked|connected) to the account.",
        "(If you lost access|Without access) to the old address, contact support."], [
        "change the email address of my account", "update account email"], [
        "(new|changed my) (email|e-mail) (address|), (how do i|need to) (switch|swap) it (on|"
        "in) (my|the) (login|profile)",
        "(old|my old work) (email|inbox) (is gone|no longer works), (how do i|can i) (still|) "
        "log in",
        "(swap|move) (my|the) (profile|login) to (my|a) (gmail|new inbox)"]),
    _t("multiple-homes", "account", [], [
        "Manage several homes", "Add a second home to your account"], [
        "(One account|A {co} account) can (manage|hold) up to {homes_n} homes, e.g. a holiday "
        "house.",
        "(Add|Create) a home in the {app} app with the home switcher at the top of the screen.",
        "(Devices|Each device) (belong|belongs) to one home; (move|moving) a device requires a "
        "reset.",
        "Guard Plus plans (apply|are charged) per home."], [
        "add a second home", "manage several homes"], [
        "(we have|got) a (holiday cottage|caravan|second house|cabin), (can i|how do i) (see|"
        "control) (both places|both) in (one|the same) app",
        "(switch|swap) between (houses|my two places) (in the app|on my phone)",
        "(my|our) (mum's|parents') (house|flat) (stuff|devices) (in|on) my (app|login) too"]),
]

# withheld candidates: whole topic groups ("knowledge the help centre does not have yet")
GAP_GROUPS: Dict[str, Dict[str, Any]] = {
    "halo-smoke-alarm": {"label": "the new Halo Smoke Alarm (product launch)", "regional": False,
                         "product": dict(key="halo-smoke", name="Halo Smoke Alarm",
                                         cat="smart smoke alarm", nick=["smoke alarm",
                                         "smoke detector", "fire alarm", "smoke thing"],
                                         code="HS", gens=1, power="battery",
                                         feats={"smoke"})},
    "trade-in": {"label": "the trade-in programme", "regional": True},
    "care-plus": {"label": "Care+ accidental damage protection", "regional": True},
    "matter": {"label": "Matter and other smart-home platforms", "regional": False},
}

GAP_TOPICS: Dict[str, List[_Topic]] = {
    "halo-smoke-alarm": [
        _t("smoke-setup", "setup", ["smoke"], ["Setting up the {P}"], [
            "The {P} (connects|joins) your home over Wi-Fi and (pairs|links) with the {app} app "
            "in about 3 minutes.",
            "Pull the battery tab, (press|hold) the centre button until the ring glows blue and "
            "follow the app.",
            "Mount it on the ceiling at least 30 cm from walls and lights."], [
            "how do i set up the {p}"], [
            "(just got|got) the new {p} (smoke thing|), (how do i|where do i) (start|hook it "
            "up)", "(getting|get) (my|the) {p} (going|working) (on my phone|with the app)"]),
        _t("smoke-test", "troubleshooting", ["smoke"], ["Testing the {P}"], [
            "(Test|Check) the {P} once a month by pressing the centre button for 3 seconds.",
            "The alarm sounds at 85 dB and the app (sends|shows) a test notification.",
            "(If no sound plays|Without sound), replace the unit."], [
            "how do i test the {p}"], [
            "(how do i|how to) (check|make sure) (my|the) {p} (actually works|isn't dead)",
            "(monthly|regular) (check|test) (on|for) the {p} (how|?)"]),
        _t("smoke-chirp", "power", ["smoke"], ["{P} chirps every minute"], [
            "A chirp every 60 seconds (means|is) the (sealed|built-in) 10-year battery of the "
            "{P} is low.",
            "The battery cannot be replaced; (replace the whole alarm|order a new alarm).",
            "Chirps at night (can also come|also come) from a cold room."], [
            "{p} chirps every minute"], [
            "(stupid|annoying) {p} (keeps chirping|beeping) (all night|every minute|at 3am)",
            "(beep|tweet) (every minute|every 60 seconds) from the {p} (how do i stop it|help)"]),
        _t("smoke-hush", "features", ["smoke"], ["Silence a false alarm on the {P}"], [
            "(Press|Tap) the centre button or Hush in the app to silence a false alarm of the "
            "{P} for 10 minutes.",
            "Cooking smoke and steam (cause|are the usual cause of) most false alarms.",
            "(Move|Mount) the {P} at least 3 metres away from the oven or bathroom."], [
            "silence a false alarm on the {p}"], [
            "{p} (goes off|screams) (every time|whenever) i (make toast|cook|have a shower)",
            "(shut up|stop|quiet) the {p} (when i'm cooking|burnt toast)"]),
        _t("smoke-interconnect", "features", ["smoke"], ["Interconnect several {P} alarms"], [
            "(Several|Multiple) {P} alarms in one home (sound|go off) together when one "
            "detects smoke.",
            "(Interconnect|Linking) works over Wi-Fi and (needs|requires) no wiring.",
            "(Up to|At most) 24 alarms can be linked in one home."], [
            "interconnect several {p} alarms"], [
            "(can|will) all (my|the) {p}s (go off|ring) (at once|together) (if|when) one "
            "(smells|detects) (smoke|fire)",
            "(link|connect) (the|my) {p} (upstairs|in the loft) (with|to) the one downstairs"]),
        _t("smoke-co", "features", ["smoke"], ["Does the {P} detect carbon monoxide?"], [
            "The {P} (detects|senses) smoke and heat but not carbon monoxide.",
            "(Fit|Add) a separate CO alarm near (gas appliances|boilers).",
            "The app (shows|lists) which alarm triggered and why."], [
            "does the {p} detect carbon monoxide"], [
            "(does|will) the {p} (pick up|catch|warn about) (gas|co|fumes from the boiler)",
            "(need|do i need) (another|a second) (gadget|alarm) (for the boiler|for gas) or "
            "(does|is) the {p} (enough|do both)"]),
    ],
    "trade-in": [
        _t("trade-in", "billing", [], ["Trade-in programme in {country}"], [
            "(Send|Trade in) any old smart camera, lock or thermostat (and get|to get) store "
            "credit toward a new {co} device in {country}.",
            "Credit is {tradein_credit} per device, (added|credited) to your account within "
            "{refund_days} days after we receive it.",
            "(Start|Request) a trade-in in your account under Offers and print the free "
            "{carrier} label."], [
            "trade-in programme in {country_bare}"], [
            "(do you|can you) (take|give money for) (my|an) old (camera|ring doorbell|nest) (if "
            "i|when i) (buy|upgrade to) (yours|a new one) {here}",
            "(swap|exchange) (my|an) old (gadget|device) (for|against) (credit|a discount) "
            "{here}"]),
    ],
    "care-plus": [
        _t("care-plus", "warranty", [], ["{co} Care+ accidental damage plan in {country}"], [
            "Care+ (covers|protects against) accidental damage such as drops and spills for "
            "{care_years} years in {country}.",
            "It costs {care_price} per device and must be bought within 60 days of purchase.",
            "(Up to|At most) two claims per year; each claim has a {care_fee} service fee."], [
            "care+ accidental damage plan in {country_bare}"], [
            "(dropped|knocked over|spilled coffee on) (my|the) (camera|lock|gadget), (is there|"
            "can i buy) (extra|insurance) (cover|protection) {here}",
            "(insurance|cover) (for|against) (drops|spills|clumsy kids) {here}"]),
    ],
    "matter": [
        _t("matter-apple", "setup", [], ["Add {co} devices to Apple Home with Matter"], [
            "{co} devices with Matter support (appear|show up) in Apple Home after you scan "
            "the Matter code in the {app} app under Share with other platforms.",
            "A {co} Hub (2nd generation) acts as the Thread border router.",
            "(Up to|At most) five platforms can control one device at the same time."], [
            "add devices to apple home with matter"], [
            "(get|make) (my|the) (lumora|) (gadgets|stuff) (show up|appear) in (the apple|"
            "siri|my iphone) home app",
            "(can|does) siri (control|talk to) (my|the) (lights|lock|gadgets) (from you|)"]),
        _t("matter-google", "setup", [], ["Add {co} devices to Google Home with Matter"], [
            "In Google Home tap Add, Matter-enabled device and scan the Matter code from the "
            "{app} app.",
            "(Nest hubs|Google Nest hubs) (act|work) as a Thread border router.",
            "(Automations|Routines) made in Google Home run without the {co} cloud."], [
            "add devices to google home with matter"], [
            "(get|put) (my|the) (gadgets|lumora stuff) (into|on) (the google|my nest) (app|"
            "hub) (the new way|without the skill)",
            "(nest hub|google nest) (can't|won't) (find|see) (my|the) (lumora|) (devices|"
            "stuff) (with the new standard|)"]),
        _t("matter-code", "troubleshooting", [], ["Lost the Matter setup code"], [
            "(The Matter code|The setup code) is printed on the device label and in the quick "
            "start guide.",
            "(If you lost it|Without the label), open the device in the {app} app, Share with "
            "other platforms, Show code.",
            "The code (changes|is renewed) every time you open the share screen."], [
            "lost the matter setup code"], [
            "(sticker|the sticker) with the (qr|square barcode) (is gone|peeled off|got lost)",
            "(where|how) (do i|can i) (find|get) the (pairing number|qr thing) (for the new "
            "standard|again)"]),
        _t("matter-smartthings", "setup", [], ["Use {co} devices with SmartThings"], [
            "SmartThings (hubs|Hub v3 and later) (add|control) {co} Matter devices (locally|on "
            "your network).",
            "In SmartThings tap Add device, Scan QR code and (use|scan) the Matter code from "
            "the {app} app.",
            "Energy readings of the Plug Mini (show|appear) in SmartThings Energy."], [
            "use devices with smartthings"], [
            "(samsung|my samsung) (hub|home app) (with|and) (lumora|your) (gadgets|stuff) "
            "(possible|how)",
            "(hook up|link) (my|the) (stuff|devices) to (samsung's|the samsung) (app|hub)"]),
        _t("matter-multiadmin", "setup", [], ["Control one device from several platforms"], [
            "Matter multi-admin (lets|allows) up to five platforms, e.g. Apple Home and Alexa, "
            "(control|share) one {co} device.",
            "(Remove|Revoke) a platform in the {app} app under Connected platforms.",
            "(Each|Every) platform keeps its own names and rooms."], [
            "control one device from several platforms"], [
            "(wife|my wife) (uses|has) (an iphone|apple) (and|but) i (use|have) (alexa|google), "
            "(can we both|both of us) (control|use) (the same|the) (lights|gadgets)",
            "(two|2) (different|) (assistants|ecosystems) (for|on) (one|the same) (gadget|"
            "device)"]),
    ],
}


# ---------------------------------------------------------------------------------------------
# config


@dataclass(frozen=True)
class ScenarioConfig:
    """Settings of the generated scenario (validated; :class:`aitl.ConfigError` names the field).

    >>> ScenarioConfig(seed=3, products=8).products
    8
    """

    seed: int = 0
    company: str = "Lumora"          #: the fictional company's name
    products: int = 19               #: product lines, 1 .. 19 (the first N of PRODUCT_LINES)
    generations: int = 2             #: hardware generations per line at most, 1 or 2
    regions: int = 6                 #: sales regions, 1 .. 6 (us, uk, eu, ca, au, in)
    policies: Tuple[str, ...] = POLICIES       #: policy areas with regional articles
    issue_types: Tuple[str, ...] = ISSUE_TYPES  #: support topics' issue types kept
    questions_per_article: float = 3.3  #: mean customer questions per article, [0.5, 20]
    max_turns: int = 3               #: customer turns per conversation at most, 1 .. 8
    history_turns: int = 3           #: turns (customer + agent) in a query's text, 1 .. 9
    lexical_gap: float = 0.9         #: share of questions in the colloquial register, [0, 1]
    typo_rate: float = 0.03          #: chance a word of 5+ letters has a typo, [0, 0.3]
    hint_rate: float = 0.5           #: chance a customer says which generation they own, [0, 1]
    withheld_groups: int = 3         #: topic groups withheld from the served KB, 0 .. 4
    #: split every phrasing resource between a conversation's side, "feedback" or "eval"
    disjoint_phrasings: bool = False

    def __post_init__(self) -> None:
        from ._core import ConfigError

        def bad(name: str, expected: str) -> None:
            raise ConfigError(f"ScenarioConfig: field '{name}' out of range (got "
                              f"{getattr(self, name)!r}, expected {expected})")

        def integer(name: str, lo: int, hi: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not lo <= v <= hi:
                bad(name, f"an integer in [{lo}, {hi}]")
            object.__setattr__(self, name, int(v))

        def real(name: str, lo: float, hi: float) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not lo <= v <= hi:
                bad(name, f"a number in [{lo}, {hi}]")
            object.__setattr__(self, name, float(v))


        integer("seed", -(2 ** 63), 2 ** 63 - 1)
        if not isinstance(self.company, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]{1,23}",
                                                                  self.company):
            bad("company", "one capitalised word of 2 to 24 letters or digits")
        integer("products", 1, len(PRODUCT_LINES))
        integer("generations", 1, 2)
        integer("regions", 1, len(REGIONS))
        integer("max_turns", 1, 8)
        integer("history_turns", 1, 9)
        integer("withheld_groups", 0, len(GAP_GROUPS))
        real("questions_per_article", 0.5, 20.0)
        real("lexical_gap", 0.0, 1.0)
        real("typo_rate", 0.0, 0.3)
        real("hint_rate", 0.0, 1.0)
        for name, known in (("policies", POLICIES), ("issue_types", ISSUE_TYPES)):
            v = getattr(self, name)
            if isinstance(v, str) or not all(isinstance(x, str) for x in v):
                bad(name, f"a list of names from {list(known)}")
            unknown = [x for x in v if x not in known]
            if unknown:
                bad(name, f"names from {list(known)}; unknown {unknown}")
            object.__setattr__(self, name, tuple(x for x in known if x in set(v)))
        if not self.issue_types:
            bad("issue_types", "at least one issue type")
        if not isinstance(self.disjoint_phrasings, bool):
            bad("disjoint_phrasings", "True or False")

    def to_dict(self) -> Dict[str, Any]:
        """The fields as plain JSON values (``from_dict`` reads it back).

        ``disjoint_phrasings`` is left out while False, so the default config's scenario.json
        and cache key are those of the scenarios written before the field existed.
        """
        d = dataclasses.asdict(self)
        d["policies"], d["issue_types"] = list(self.policies), list(self.issue_types)
        if not self.disjoint_phrasings:
            del d["disjoint_phrasings"]
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "ScenarioConfig":
        """A config from a dict (missing keys take their defaults; unknown keys are an error)."""
        from ._core import ConfigError

        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"ScenarioConfig.from_dict: unknown field(s) {unknown} "
                              f"(expected some of {sorted(names)})")
        kw = dict(d)
        for k in ("policies", "issue_types"):
            if k in kw and isinstance(kw[k], list):
                kw[k] = tuple(kw[k])
        return cls(**kw)

    def key(self) -> str:
        """A short hash of the config and the generator version (names the cache folder)."""
        blob = json.dumps({"v": GENERATOR_VERSION, **self.to_dict()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# generation


def _rng(seed: int, *parts: Any) -> random.Random:
    return random.Random("|".join(str(p) for p in (seed,) + parts))


_ALT = re.compile(r"\(([^()]*\|[^()]*)\)")
_FIELD = re.compile(r"\{(\w+)\}")


def _half(n: int, half: Optional[int]) -> range:
    # the indices one side may use: all (half None, or a list of one) or every other one
    return range(n) if half is None or n < 2 else range(half, n, 2)


def _pick_index(seq: Any, rng: random.Random, half: Optional[int] = None) -> int:
    # rng.choice(range(n)) draws exactly like rng.choice(seq): half=None keeps the old stream
    return rng.choice(_half(len(seq), half))


def _pick(seq: Any, rng: random.Random, half: Optional[int] = None) -> Any:
    return seq[_pick_index(seq, rng, half)]


def _expand(template: str, rng: random.Random, facts: Dict[str, Any],
            half: Optional[int] = None) -> str:
    def alt(m: "re.Match[str]") -> str:
        return _pick(m.group(1).split("|"), rng, half)

    s = _ALT.sub(alt, template)

    def field_(m: "re.Match[str]") -> str:
        v = facts[m.group(1)]
        if callable(v):
            v = v(rng)
        return str(v)

    for _ in range(3):  # facts may hold fields and alternatives
        s2 = _ALT.sub(alt, _FIELD.sub(field_, s))
        if s2 == s:
            break
        s = s2
    return re.sub(r"\s+", " ", s).replace(" ,", ",").replace(" ?", "?").strip()


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _money(rng: random.Random, cur: str, lo: float, hi: float) -> str:
    v = rng.randrange(int(lo), int(hi)) + 0.99
    return f"{cur}{v:,.2f}" if cur != "₹" else f"₹{int(v * 80):,}"


class _Model:
    """One product model (line x generation) with its seeded facts."""

    def __init__(self, line: Dict[str, Any], gen: int, gens: int, cfg: ScenarioConfig) -> None:
        r = _rng(cfg.seed, "model", line["key"], gen)
        co = cfg.company
        self.line, self.gen, self.gens = line, gen, gens
        self.key = f"{line['key']}-g{gen}" if gens > 1 else line["key"]
        self.name = f"{co} {line['name']}" if line["key"] == "hub" else line["name"]
        self.display = self.name + (f" ({_ordinal(gen)} generation)" if gens > 1 else "")
        self.feats = set(line["feats"])
        radio = ("Zigbee network of your Hub" if "hubdev" in self.feats and "wifi" not in
                 self.feats else "Wi-Fi network")
        colours = r.sample(COLOURS, 3)
        power = line["power"]
        battery = {"battery": r.choice(["four AA batteries", "two AA batteries",
                                        "a CR2032 coin cell", "two CR123A batteries"]),
                   "recharge": f"a built-in {r.choice([5200, 6000, 6500, 10000])} mAh battery"}
        self.upgrade = r.choice(GEN2_UPGRADES)
        self.year = 2019 + (gen - 1) * 3 + r.randrange(2)
        acc = ACCESSORIES.get(power, ACCESSORIES["mains"])
        self.facts: Dict[str, Any] = {
            "P": self.display, "name": self.name, "co": co, "app": f"{co} Home",
            "cat": line["cat"], "code": f"{line['code']}-{gen}{r.randrange(10, 99)}",
            "radio_name": radio, "button": r.choice(["reset button", "pairing button",
                                                     "main button", "setup button"]),
            "button_loc": r.choice(BUTTON_PLACES),
            "led_setup": f"blinks {colours[0]}", "led_reset": f"flashes {colours[1]} three times",
            "led_offline": f"pulses {colours[2]}", "col_setup": colours[0], "col_ok": colours[1],
            "col_off": colours[2], "col_rand": lambda rr: rr.choice(COLOURS + ["red"]),
            "setup_min": r.choice([2, 3, 5, 10]), "range_m": r.choice([3, 5, 8, 10, 15]),
            "pair_s": r.choice([3, 5, 7]), "reset_s": r.choice([10, 12, 15, 20, 30]),
            "boot_s": r.choice([20, 30, 45, 60]), "err_code": f"E{r.randrange(100, 999)}",
            "rssi": r.choice([-65, -70, -75]),
            "fw": f"{gen + 1}.{r.randrange(10)}.{r.randrange(20)}",
            "bt_m": r.choice([5, 10, 15]), "delay_s": r.choice([2, 3, 5]),
            "port": r.choice([443, 8883, 8443]), "upd_h": r.choice([1, 2, 3]),
            "temp_c": r.choice([40, 45, 50, 55]), "dim_pct": r.choice([5, 10, 15]),
            "sens": r.randrange(2, 5), "battery": battery.get(power, "batteries"),
            "batt_months": r.choice([3, 6, 9, 12, 18, 24]), "batt_warn": r.choice([10, 15, 20]),
            "charger_w": r.choice([5, 10, 18]), "charge_h": r.choice([2, 4, 5, 6, 8]),
            "charge_min": r.choice([10, 15, 30]), "volt": r.choice([24, 230]),
            "sched_n": r.choice([10, 20, 32, 50]), "notif_s": r.choice([30, 60, 120]),
            "acc_pct": r.choice([1, 2, 3]), "clip_s": r.choice([20, 30, 60]),
            "keep_days": r.choice([30, 60]), "sd_gb": r.choice([128, 256]),
            "ir_m": r.choice([6, 8, 10, 12]), "res": r.choice(["1080p", "2K", "4K"]),
            "codes_n": r.choice([25, 50, 100]), "lockout_n": r.choice([3, 5]),
            "filter_months": r.choice([3, 6, 12]), "price_filter": f"${r.randrange(19, 49)}.99",
            "map_runs": r.choice([1, 2, 3]), "maps_n": r.choice([3, 4, 5]),
            "acc_c": r.choice(["0.5", "0.3", "1"]), "kelvin_lo": r.choice([1800, 2000, 2200]),
            "kelvin_hi": r.choice([6500, 6000]), "lumen": r.choice([800, 1100, 1600]),
            "acc1": acc[0], "acc2": acc[1], "price_acc1": f"${r.randrange(9, 60)}.99",
            "price_acc2": f"${r.randrange(9, 40)}.99", "ship_days": r.choice(["1-2", "2-3"]),
            "warranty_years": r.choice([1, 2, 2, 3]), "report_days": r.choice([7, 14]),
            "share_n": r.choice([5, 10, 16]), "mount_kit": r.choice([
                "screws, wall plugs and a drilling template", "an adhesive pad and two screws",
                "a mounting plate, screws and a level"]), "drill": r.choice([5, 6, 8]),
            "ios": r.choice([15, 16]), "android": r.choice([9, 10, 11]),
            "matter": "Matter supported" if gen == 2 else "Matter not supported",
            "dims": f"{r.randrange(40, 160)} x {r.randrange(40, 160)} x {r.randrange(20, 80)}",
            "weight_g": r.randrange(40, 1800),
            "privacy_hw": r.choice(["also has a physical shutter that covers the lens.",
                                    "has a microphone mute switch on the back.",
                                    "turns its lens down into the base in privacy mode."]),
            "compat_need": ("It needs a {co} Hub; it does not connect to Wi-Fi by itself."
                            if "hubdev" in self.feats and "wifi" not in self.feats else
                            "It needs a 2.4 GHz Wi-Fi network with internet access; no hub "
                            "is required."),
        }
        self.facts["upd_h2"] = self.facts["upd_h"] + 2
        self.facts.update(name_len=r.choice([24, 32, 40]), night_h=r.choice([21, 22, 23]),
                          hist_days=r.choice([30, 60, 90]), lock_s=r.choice([3, 5, 8]))
        self.facts["power_check"] = PLURAL_POWER.get(power, PLURAL_POWER["mains"])
        self.facts["batt_swap"] = (
            "Open the battery door with a coin, replace the {battery} and close the door until "
            "it clicks." if power == "battery" else
            "The battery is built in; recharge it with the supplied cable or the optional "
            "solar panel.")
        if gens > 1:
            self.facts["P"] = self.display
            self.facts["gen_note"] = (f"The {_ordinal(gen)} generation ({self.facts['code']})"
                                      + (f" adds {self.upgrade}." if gen == 2 else "."))

    def has(self, topic: _Topic) -> bool:
        return not topic.needs or bool(self.feats & set(topic.needs))


def _region_facts(key: str, cfg: ScenarioConfig) -> Dict[str, Any]:
    g = REGIONS[key]
    r = _rng(cfg.seed, "region", key)
    cur = g["cur"]
    co = cfg.company
    withdraw = (f"By law you also have {g['withdrawal']} days to withdraw from an online "
                "purchase without giving a reason." if g["withdrawal"] else
                "(Holiday purchases|Orders placed from 1 November) can be returned until 31 "
                "January.")
    legal = {"uk": "This is in addition to your rights under the Consumer Rights Act 2015.",
             "eu": "Your statutory guarantee of conformity under EU law applies as well.",
             "au": "Our goods come with guarantees that cannot be excluded under the Australian "
                   "Consumer Law.",
             }.get(key, "Some states or provinces give you extra rights by law.")
    pay = {"us": "Visa, Mastercard, American Express, PayPal, Apple Pay and Affirm",
           "uk": "Visa, Mastercard, PayPal, Apple Pay and Klarna",
           "eu": "Visa, Mastercard, PayPal, iDEAL, SEPA direct debit and Klarna",
           "ca": "Visa, Mastercard, American Express, PayPal and Interac",
           "au": "Visa, Mastercard, PayPal, Afterpay and Apple Pay",
           "in": "UPI, RuPay, Visa, Mastercard and net banking"}[key]
    return {
        "co": co, "app": f"{co} Home", "country": g["country"], "short": g["short"],
        "country_bare": g["country"].replace("the ", ""), "carrier": g["carrier"],
        "law": g["law"], "tax": g["tax"], "withdraw": withdraw, "legal": legal,
        "pay_methods": pay, "ret_days": r.choice([30, 30, 45, 60]),
        "refund_days": r.choice([5, 7, 10, 14]), "restock": r.choice(["10%", "15%", "20%"]),
        "warranty_region": max(g["legal_warranty"], r.choice([1, 2])),
        "claim_days": r.choice([2, 3, 5]), "ship_days": r.choice(["2-4", "3-5", "4-7"]),
        "ship_cost": _money(r, cur, 4, 9), "free_over": f"{cur}{r.choice([35, 50, 75, 99])}"
        if cur != "₹" else "₹3,000", "express_cost": _money(r, cur, 10, 20),
        "stuck_days": r.choice([3, 5]), "report_days": r.choice([7, 14, 30]),
        "dc": {"us": "the United States", "uk": "London", "eu": "Frankfurt", "ca": "Montreal",
               "au": "Sydney", "in": "Mumbai"}[key],
        "dsr_days": r.choice([30, 45]), "sub_basic": _money(r, cur, 3, 5),
        "sub_multi": _money(r, cur, 9, 13), "keep_days_r": r.choice([30, 60]),
        "grace_days": r.choice([14, 30]), "retry_days": r.choice([3, 5]),
        "gift_years": r.choice([3, 5]), "tradein_credit": _money(r, cur, 20, 60),
        "care_years": r.choice([2, 3]), "care_price": _money(r, cur, 19, 49),
        "care_fee": _money(r, cur, 15, 39), "link_min": r.choice([30, 60]),
        "app_v": f"{r.choice([5, 6])}.{r.randrange(10)}", "homes_n": r.choice([5, 10]),
    }


@dataclass
class _Article:
    id: str
    title: str
    text: str
    topic: _Topic
    meta: Dict[str, Any]
    facts: Dict[str, Any]
    sentences: List[str]
    group: str = ""  # withheld candidate group key ("" for ordinary articles)


def _article(doc_id: str, topic: _Topic, facts: Dict[str, Any], rng: random.Random,
             meta: Dict[str, Any], group: str = "") -> _Article:
    title = _expand(rng.choice(topic.titles), rng, facts)
    sents = [_cap(_expand(s, rng, facts)) for s in topic.body]
    sents = [s if s.endswith((".", "?", "!", ")")) else s + "." for s in sents]
    if facts.get("gen_note") and rng.random() < 0.7:
        sents.append(facts["gen_note"])
    return _Article(doc_id, title, " ".join(sents), topic, meta, facts, sents, group)


def _typos(text: str, rate: float, rng: random.Random) -> str:
    if rate <= 0:
        return text
    out = []
    for w in text.split(" "):
        if len(w) >= 5 and w.isalpha() and rng.random() < rate:
            i = rng.randrange(1, len(w) - 1)
            kind = rng.randrange(3)
            w = (w[:i] + w[i + 1] + w[i] + w[i + 2:] if kind == 0 else
                 w[:i] + w[i + 1:] if kind == 1 else w[:i] + w[i] + w[i:])
        out.append(w)
    return " ".join(out)


GREETINGS = ["hi", "hello", "hey", "hi there", "good morning", "hiya", "", "", "", ""]
OPENERS = ["ok thanks.", "thanks.", "great, one more thing:", "also", "another question:",
           "cool.", "right.", "and", "ok,", "thank you! next thing,"]
THANKS = ["Thanks for reaching out!", "Happy to help!", "Thanks for contacting us.",
          "Sorry for the trouble.", "Good question!"]
CLOSINGS = ["Let me know if that helps.", "Anything else I can help with?",
            "Hope this sorts it out.", "Have a great day!", ""]
STORIES = ["I already tried turning it off and on again.", "my son set it up for me.",
           "we moved in last month.", "the app is on the latest version.",
           "it worked fine for months.", "I have a few other devices from you.",
           "this is the second time this happens.", "I'm not very technical.",
           "it was a present from my daughter.", "the router is in the hallway.",
           "I already checked the manual.", "we have lots of devices at home.",
           "support chat was closed yesterday.", "I use an android phone.",
           "I use an iphone.", "bought it online.", "it's in the kitchen."]
AGENT_ACKS = ["Sure, I can help with that.", "Thanks, let me check.", "Happy to help!",
              "Of course."]


def _build(cfg: ScenarioConfig):
    """The articles, conversations and judgements of a config (no file I/O)."""
    seed = cfg.seed
    regions = list(REGIONS)[:cfg.regions]
    gap_order = sorted(GAP_GROUPS, key=lambda g: hashlib.sha256(f"{seed}|{g}".encode()).digest())
    withheld_groups = set(gap_order[:cfg.withheld_groups])
    issues = set(cfg.issue_types)
    lines = PRODUCT_LINES[:cfg.products]
    models: List[_Model] = []
    for line in lines:
        gens = min(line["gens"], cfg.generations)
        models += [_Model(line, g, gens, cfg) for g in range(1, gens + 1)]
    rfacts = {k: _region_facts(k, cfg) for k in regions}

    arts: Dict[str, _Article] = {}
    by_model_topic: Dict[Tuple[str, str], str] = {}
    for m in models:
        for t in PRODUCT_TOPICS:
            if t.issue not in issues or not m.has(t):
                continue
            if t.key == "subscription" and "subscription" not in cfg.policies:
                continue
            did = f"{m.key}:{t.key}"
            arts[did] = _article(did, t, m.facts, _rng(seed, "art", did),
                                 {"product": m.line["key"], "model": m.key, "generation": m.gen,
                                  "topic": t.key, "issue_type": t.issue})
            by_model_topic[(m.key, t.key)] = did
    policy_doc: Dict[Tuple[str, str], str] = {}
    for t in POLICY_TOPICS:
        if t.issue not in cfg.policies:
            continue
        for reg in regions:
            did = f"policy:{t.key}:{reg}"
            arts[did] = _article(did, t, rfacts[reg], _rng(seed, "art", did),
                                 {"policy": t.issue, "region": reg, "topic": t.key,
                                  "issue_type": t.issue})
            policy_doc[(t.key, reg)] = did
    if "account" in issues:
        for t in ACCOUNT_TOPICS:
            did = f"account:{t.key}"
            arts[did] = _article(did, t, rfacts[regions[0]], _rng(seed, "art", did),
                                 {"topic": t.key, "issue_type": "account"})
    gap_models: Dict[str, _Model] = {}
    for g, spec in GAP_GROUPS.items():
        if "product" in spec:
            gap_models[g] = _Model(spec["product"], 1, 1, cfg)
        for t in GAP_TOPICS[g]:
            if spec["regional"]:
                for reg in regions:
                    did = f"{g}:{t.key}:{reg}"
                    arts[did] = _article(did, t, rfacts[reg], _rng(seed, "art", did),
                                         {"region": reg, "topic": t.key, "issue_type": t.issue,
                                          "programme": g}, group=g)
            else:
                facts = gap_models[g].facts if g in gap_models else rfacts[regions[0]]
                did = f"{g}:{t.key}"
                meta = {"topic": t.key, "issue_type": t.issue}
                meta.update({"product": spec["product"]["key"]} if g in gap_models else
                            {"programme": g})
                arts[did] = _article(did, t, facts, _rng(seed, "art", did), meta, group=g)

    # ---- question slots, grouped into conversations ----------------------------------------
    pools: Dict[Tuple[str, str], List[str]] = {}  # (kind, scope) -> article ids
    for did, a in arts.items():
        if "model" in a.meta:
            scope = ("model", a.meta["model"])
        elif a.group:
            scope = ("gap", a.group + (":" + a.meta["region"] if "region" in a.meta else ""))
        elif "region" in a.meta:
            scope = ("policy", a.meta["region"])
        else:
            scope = ("account", "")
        n = _n_questions(cfg.questions_per_article, _rng(seed, "n", did))
        pools.setdefault(scope, []).extend([did] * n)
    model_of = {m.key: m for m in models}
    siblings: Dict[str, List[_Model]] = {}
    for m in models:
        siblings.setdefault(m.line["key"], []).append(m)

    convs: List[Tuple[Tuple[str, str], List[str]]] = []
    for scope in sorted(pools):
        r = _rng(seed, "conv", *scope)
        slots = pools[scope]
        r.shuffle(slots)
        i = 0
        while i < len(slots):
            n = 1 + min(r.randrange(cfg.max_turns), r.randrange(cfg.max_turns))
            chunk = []
            for did in slots[i:i + n]:
                if did not in chunk:
                    chunk.append(did)
            convs.append((scope, chunk))
            i += n
    order = _rng(seed, "conv-order")
    order.shuffle(convs)

    queries, qrels, responses, groups = [], [], [], []
    phrasing: List[Dict[str, Any]] = []  # per query: side, template id, nickname, city
    qn = 0
    for ci, (scope, chunk) in enumerate(convs):
        r = _rng(seed, "talk", ci, *scope)
        conv_id = f"conv-{ci + 1:04d}"
        if scope[0] in ("policy",):
            region = scope[1]
        elif scope[0] == "gap" and ":" in scope[1]:
            region = scope[1].split(":", 1)[1]
        else:
            region = r.choice(regions)
        model = model_of.get(scope[1]) if scope[0] == "model" else gap_models.get(scope[1])
        side = _side(seed, conv_id) if cfg.disjoint_phrasings else None
        # disjoint phrasings: the wording comes from a second stream restricted to the side's
        # half; ``r`` still draws the default wording (discarded), so every other draw (register,
        # generation hint -> qrels, replies) is the default config's
        rp = _rng(seed, "phrase", conv_id) if side is not None else None
        hinted = False
        history: List[str] = []
        casual_conv = r.random() < cfg.lexical_gap
        for turn, did in enumerate(chunk):
            a = arts[did]
            casual = casual_conv if r.random() < 0.7 else r.random() < cfg.lexical_gap
            msg, story, hint, used = _compose(a, model, region, casual, turn, hinted, cfg, r)
            if rp is not None:
                msg, _, _, used = _compose(a, model, region, casual, turn, hinted, cfg, rp,
                                           SIDES.index(side), (story, hint))
            hinted = hinted or hint
            phrasing.append({"side": side, **used})
            history.append(msg)
            qn += 1
            qid = f"q{qn:05d}"
            qtext = "\n".join(history[-cfg.history_turns:])
            judged = {did: 2}
            if model is not None and model.gens > 1 and not hinted:
                for sib in siblings.get(model.line["key"], []):
                    other = by_model_topic.get((sib.key, a.topic.key))
                    if other and other != did:
                        judged.setdefault(other, 1)
            if a.topic.policy and (a.topic.policy, region) in policy_doc:
                judged.setdefault(policy_doc[(a.topic.policy, region)], 1)
            if a.topic.key == "first-setup" and model is not None:
                hp = by_model_topic.get((model.key, "hub-pairing"))
                if hp:
                    judged.setdefault(hp, 1)
            answer = " ".join(a.sentences[1:3])
            extra = ""
            if a.topic.policy and (a.topic.policy, region) in policy_doc:
                extra = arts[policy_doc[(a.topic.policy, region)]].sentences[0]
            reply = " ".join(x for x in (r.choice(THANKS), answer, extra, r.choice(CLOSINGS))
                             if x)
            queries.append({"_id": qid, "text": qtext, "conversation": conv_id, "turn": turn + 1,
                            "region": region})
            qrels.extend((qid, d, g) for d, g in judged.items())
            responses.append({"_id": qid, "response": reply})
            groups.append((qid, conv_id))
            history.append(r.choice(AGENT_ACKS) + " " + a.sentences[1])

    withheld = [did for did, a in arts.items() if a.group in withheld_groups]
    return (arts, queries, qrels, responses, groups, withheld, withheld_groups, models, regions,
            phrasing)


def _n_questions(mean: float, r: random.Random) -> int:
    lo = int(mean)
    n = lo + (1 if r.random() < mean - lo else 0)
    if n >= 2 and r.random() < 0.3:
        n += r.choice([-1, 1])
    return max(1, n)


def _side(seed: int, conv_id: str) -> str:
    h = hashlib.sha256(f"{seed}|phrasing-side|{conv_id}".encode()).digest()
    return SIDES[h[0] & 1]


def _where(region: str, casual: bool, r: random.Random, sentence: bool = False,
           half: Optional[int] = None) -> Tuple[str, Optional[str]]:
    g = REGIONS[region]
    city = None
    if casual:
        city = _pick(g["cities"], r, half)
        s = _pick([f"here in {city}", f"in {city}", f"(i'm in {city})", f"- live in {city}"], r,
                  half)
    else:
        s = _pick([f"in {g['country'].replace('the ', '')}", f"in the {g['short']}",
                   f"(ordering from {g['country'].replace('the ', '')})"], r, half)
        if g["short"] in ("Canada", "Australia", "India"):
            s = s.replace("the ", "")
    return (f"I'm {s}." if sentence and not s.startswith(("(", "-")) else s), city


def _product_ref(m: _Model, casual: bool, turn: int, r: random.Random,
                 half: Optional[int] = None) -> Tuple[str, Optional[str]]:
    if turn > 0 and r.random() < 0.5:
        if r.random() < 0.5:
            return "it", None
        nick = _pick(m.line["nick"], r, half)
        return nick, nick
    if casual and r.random() < 0.85:
        nick = _pick(m.line["nick"], r, half)
        return nick, nick
    name = m.name.replace(m.facts["co"] + " ", "") if r.random() < 0.5 else m.name
    return (name if r.random() < 0.8 else m.line["cat"]), None


def _gen_hint(m: _Model, casual: bool, r: random.Random, half: Optional[int] = None) -> str:
    if casual:
        if m.gen == 2:
            return _pick([f"(it's the newer one with {m.upgrade})", "it's the newer model.",
                          f"bought it in {m.year}.", "mine is the new version."], r, half)
        return _pick(["it's the older one.", f"had it since {m.year}.",
                      "mine's the original one.", "it's the first version, not the new one."],
                     r, half)
    return _pick([f"model {m.facts['code']}.", f"it's the {_ordinal(m.gen)} generation.",
                   f"({_ordinal(m.gen)} gen)"], r, half)


def _compose(a: _Article, model: Optional[_Model], region: str, casual: bool, turn: int,
             hinted: bool, cfg: ScenarioConfig, r: random.Random, half: Optional[int] = None,
             decided: Optional[Tuple[bool, bool]] = None
             ) -> Tuple[str, bool, bool, Dict[str, Any]]:
    """One customer message: (text, told a story, said the generation, phrasing used).

    ``half`` None draws from every phrasing (the default config's stream, unchanged); 0 / 1 only
    from the feedback / eval half. ``decided`` replays (story, hint) instead of drawing them.
    """
    used: set = set()
    qfacts = dict(a.facts)
    where, city = _where(region, casual, r, half=half)
    qfacts["here"] = lambda _: used.add("here") or where  # callables record that they were used
    nick = None
    if model is not None:
        ref, nick = _product_ref(model, casual, turn, r, half)
        qfacts["p"] = lambda _: used.add("p") or ref
    register = "casual" if casual else "formal"
    templates = a.topic.casual if casual else a.topic.formal
    ti = _pick_index(templates, r, half)
    text = _expand(templates[ti], r, qfacts, half)
    parts = [_pick(GREETINGS if turn == 0 else OPENERS, r, half)]
    story = (r.random() < (0.35 if turn == 0 else 0.15)) if decided is None else decided[0]
    if story:
        parts.append(_pick(STORIES, r, half))
    if decided is None:
        hint = (model is not None and model.gens > 1 and not hinted
                and r.random() < cfg.hint_rate)
    else:
        hint = decided[1]
    if hint:
        parts.append(_gen_hint(model, casual, r, half))
    city_used = city if "here" in used else None
    if (a.topic.regional and "{here}" not in "".join(a.topic.casual + a.topic.formal)
            and where not in text):
        sentence, city_used = _where(region, casual, r, sentence=True, half=half)
        parts.append(sentence)
    parts.append(text + r.choice(["?", "", "?", "."]))
    msg = re.sub(r"\b(my|the|a|an|brand new|new) it\b", "it", " ".join(p for p in parts if p))
    msg = _typos(msg, cfg.typo_rate, r)
    if r.random() < 0.5:
        msg = msg.lower()
    return msg, story, hint, {"template": f"{a.topic.key}:{register}:{ti}",
                              "nickname": nick if "p" in used else None, "city": city_used}


def generate(out_dir: PathLike, config: Optional[ScenarioConfig] = None) -> Dict[str, Any]:
    """Write the scenario of ``config`` (defaults when ``None``) as a BEIR folder ``out_dir``.

    :returns: counts: documents, queries, qrels, conversations, withheld_documents,
        withheld_queries (queries whose relevant documents are all withheld), products (lines),
        models, regions, topics.
    :raises ConfigError: ``config`` is not a :class:`ScenarioConfig`.
    :raises IoError: ``out_dir`` cannot be written.
    """
    from ._core import ConfigError, IoError

    cfg = ScenarioConfig() if config is None else config
    if not isinstance(cfg, ScenarioConfig):
        raise ConfigError(f"scenario.generate: config has the wrong type (got "
                          f"{type(cfg).__name__}, expected ScenarioConfig)")
    (arts, queries, qrels, responses, groups, withheld, wgroups, models, regions,
     phrasing) = _build(cfg)
    if cfg.disjoint_phrasings:
        queries = [dict(q, phrasing_side=ph["side"],
                        phrasing={k: ph[k] for k in ("template", "nickname", "city")})
                   for q, ph in zip(queries, phrasing)]
    wset = set(withheld)
    relevant: Dict[str, List[str]] = {}
    for q, d, g in qrels:
        if g > 0:
            relevant.setdefault(q, []).append(d)
    wq = sorted(q for q, ds in relevant.items() if all(d in wset for d in ds))
    topics = sorted({a.topic.key for a in arts.values()})
    counts = {"documents": len(arts), "queries": len(queries), "qrels": len(qrels),
              "conversations": len(set(g for _, g in groups)),
              "withheld_documents": len(withheld), "withheld_queries": len(wq),
              "products": len({m.line["key"] for m in models}), "models": len(models),
              "regions": len(regions), "topics": len(topics)}
    gap_topics = []
    for g in sorted(wgroups):
        ids = [d for d in withheld if arts[d].group == g]
        gap_topics.append({"group": g, "label": GAP_GROUPS[g]["label"],
                           "titles": [arts[d].title for d in ids], "doc_ids": ids})
    meta = {"generator": "aitl.scenario", "generator_version": GENERATOR_VERSION,
            "config": cfg.to_dict(), "counts": counts, "withheld": withheld,
            "withheld_topics": gap_topics,
            "regions": {k: REGIONS[k]["country"] for k in regions}}
    out = Path(out_dir)
    try:
        (out / "qrels").mkdir(parents=True, exist_ok=True)
        with open(out / "corpus.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for a in arts.values():
                f.write(json.dumps({"_id": a.id, "title": a.title, "text": a.text, **a.meta},
                                   ensure_ascii=False) + "\n")
        with open(out / "queries.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for q in queries:
                f.write(json.dumps(q, ensure_ascii=False) + "\n")
        with open(out / "qrels" / "test.tsv", "w", encoding="utf-8", newline="\n") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            for q, d, g in qrels:
                f.write(f"{q}\t{d}\t{g}\n")
        with open(out / "groups.tsv", "w", encoding="utf-8", newline="\n") as f:
            f.write("query-id\tdialogue-id\n")
            for q, g in groups:
                f.write(f"{q}\t{g}\n")
        with open(out / "responses.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for r in responses:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        with open(out / "scenario.json", "w", encoding="utf-8", newline="\n") as f:
            json.dump(meta, f, indent=1, ensure_ascii=False)
            f.write("\n")
    except OSError as e:
        raise IoError(f"scenario.generate: cannot write to {out} ({e.strerror or e})") from None
    return counts


def cache_root() -> Path:
    """Where :func:`load` keeps generated scenarios: ``$AITL_CACHE_DIR`` or ``~/.cache/aitl``."""
    root = os.environ.get("AITL_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                            "aitl")
    return Path(root)


def load(seed: int = 0, cache_dir: Optional[PathLike] = None,
         config: Optional[ScenarioConfig] = None) -> Path:
    """The scenario's BEIR folder, generated on first use into ``<cache>/scenario-<hash>``.

    :param seed: the seed of the default config (ignored when ``config`` is given).
    :param cache_dir: parent folder (default :func:`cache_root`).
    :returns: the folder (pass it to :func:`aitl.beir.load`).
    Generation goes to a temporary sibling folder renamed into place, so concurrent callers
    never see a half-written scenario.
    """
    cfg = config if config is not None else ScenarioConfig(seed=seed)
    if not isinstance(cfg, ScenarioConfig):
        from ._core import ConfigError

        raise ConfigError(f"scenario.load: config has the wrong type (got "
                          f"{type(cfg).__name__}, expected ScenarioConfig)")
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    path = root / f"scenario-{cfg.key()}"
    if (path / "scenario.json").is_file():
        return path
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".scenario-{cfg.key()}-", dir=root))
    try:
        generate(tmp, cfg)
        try:
            os.rename(tmp, path)
        except OSError:
            if not (path / "scenario.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def withheld_ids(path: PathLike) -> List[str]:
    """The withheld document ids listed in ``<path>/scenario.json`` (the knowledge gap).

    :raises IoError: no scenario.json in ``path``. :raises ParseError: it is not a scenario
        file.
    """
    from ._core import IoError, ParseError
    from .beir import _load_json

    p = Path(path)
    f = p / "scenario.json" if p.is_dir() else p
    if not f.is_file():
        raise IoError(f"scenario.withheld_ids: file not found (got {f}, expected a scenario "
                      "folder written by aitl.scenario.generate)")
    meta = _load_json(f, "scenario.withheld_ids")
    ids = meta.get("withheld") if isinstance(meta, dict) else None
    if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
        err = ParseError(f"{f}:0: field 'withheld': missing or not a list of document ids")
        err.file, err.line, err.field = str(f), 0, "withheld"
        raise err
    return list(ids)


def _query_rows(path: PathLike, where: str) -> Tuple[Path, List[Dict[str, Any]]]:
    """The query rows of a scenario's queries.jsonl, each with its line number under "_line"."""
    from ._core import IoError, parse_json
    from .beir import _parse_error

    p = Path(path)
    f = p / "queries.jsonl" if p.is_dir() else p
    if not f.is_file():
        raise IoError(f"scenario.{where}: file not found (got {f}, expected a scenario folder "
                      "written by aitl.scenario.generate)")
    rows = []
    with open(f, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            row = parse_json(raw, str(f), n)
            if not isinstance(row, dict) or not isinstance(row.get("_id"), str):
                raise _parse_error(f, n, "_id", "not a query object with a string _id")
            row["_line"] = n
            rows.append(row)
    return f, rows


def phrasing_sides(path: PathLike) -> Dict[str, str]:
    """Query id -> phrasing side ("feedback" or "eval") of a disjoint-phrasings scenario.

    Read from ``<path>/queries.jsonl`` of a folder generated with
    ``ScenarioConfig(disjoint_phrasings=True)``. All queries of a conversation share a side;
    learn from the "feedback" queries and evaluate on the "eval" ones.

    :raises ConfigError: the folder was not generated with ``disjoint_phrasings=True``.
    :raises IoError: no queries.jsonl in ``path``.
    :raises ParseError: a line is not a query, or only some queries have a side.
    """
    from ._core import ConfigError
    from .beir import _parse_error

    f, rows = _query_rows(path, "phrasing_sides")
    if not any("phrasing_side" in r for r in rows):
        raise ConfigError(f"scenario.phrasing_sides: {f} has no 'phrasing_side' keys (got a "
                          "scenario generated with disjoint_phrasings=False, expected one "
                          "generated with ScenarioConfig(disjoint_phrasings=True))")
    sides = {}
    for r in rows:
        if r.get("phrasing_side") not in SIDES:
            raise _parse_error(f, r["_line"], "phrasing_side", f"missing or not one of "
                               f"{list(SIDES)} (got {r.get('phrasing_side')!r})")
        sides[r["_id"]] = r["phrasing_side"]
    return sides


def _all_topics() -> Dict[str, _Topic]:
    return {t.key: t for t in PRODUCT_TOPICS + POLICY_TOPICS + ACCOUNT_TOPICS
            + [t for ts in GAP_TOPICS.values() for t in ts]}


def _phrasing_of(source: Union[ScenarioConfig, PathLike]) -> Dict[str, Dict[str, Any]]:
    """Query id -> phrasing metadata {template, nickname, city}: from queries.jsonl when it has
    them, else rebuilt from the config (a ScenarioConfig, or the folder's scenario.json)."""
    from ._core import ConfigError, IoError
    from .beir import _load_json

    def rebuilt(cfg: ScenarioConfig) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        built = _build(cfg)
        return built[1], built[9]

    if isinstance(source, ScenarioConfig):
        queries, phrasing = rebuilt(source)
        return {q["_id"]: ph for q, ph in zip(queries, phrasing)}
    f, rows = _query_rows(source, "phrasing_overlap")
    if rows and all(isinstance(r.get("phrasing"), dict) for r in rows):
        return {r["_id"]: r["phrasing"] for r in rows}
    meta_file = f.parent / "scenario.json"
    if not meta_file.is_file():
        raise IoError(f"scenario.phrasing_overlap: file not found (got {meta_file}, expected "
                      "the scenario.json next to queries.jsonl)")
    meta = _load_json(meta_file, "scenario.phrasing_overlap")
    try:
        cfg = ScenarioConfig.from_dict(meta["config"])
        version = meta["generator_version"]
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"scenario.phrasing_overlap: {meta_file} holds no scenario config "
                          f"(got {type(e).__name__}: {e}, expected the file written by "
                          "aitl.scenario.generate)") from None
    if version != GENERATOR_VERSION:
        raise ConfigError(f"scenario.phrasing_overlap: {meta_file} was written by another "
                          f"generator (got generator_version {version!r}, expected "
                          f"{GENERATOR_VERSION}); pass its ScenarioConfig instead")
    queries, phrasing = rebuilt(cfg)
    differ = sum(1 for a, b in zip(queries, rows) if (a["_id"], a["text"]) != (b["_id"],
                                                                                 b.get("text")))
    differ += abs(len(queries) - len(rows))
    if differ:
        raise ConfigError(f"scenario.phrasing_overlap: {f} does not match a rebuild of its "
                          f"config (got {differ} differing queries, expected 0)")
    return {q["_id"]: ph for q, ph in zip(queries, phrasing)}


def phrasing_overlap(source: Union[ScenarioConfig, PathLike], feedback_ids: Any,
                     eval_ids: Any) -> Dict[str, Any]:
    """How much of the eval questions' wording the feedback questions already show.

    For each eval question: does its question template (``"<topic>:<formal|casual>:<index>"``)
    occur among the feedback questions' templates? Likewise its product nickname and its city,
    over the eval questions that use one. The phrasing metadata comes from queries.jsonl of a
    disjoint-phrasings folder; for any other scenario it is rebuilt by re-running the generator
    on the config (``source`` a :class:`ScenarioConfig`, or a folder: its scenario.json, checked
    against its queries.jsonl). Rebuilding the full default scenario takes well under a second.

    :param source: a scenario folder (or its queries.jsonl), or a ScenarioConfig.
    :param feedback_ids: query ids learned from. :param eval_ids: query ids evaluated on.
    :returns: ``feedback_questions``, ``eval_questions``; the shares ``template``,
        ``template_excluding_shared`` (leaving out eval questions whose topic has a single
        template for their register, shared by both sides of a disjoint-phrasings scenario),
        ``nickname`` and ``city`` (0.0 when no eval question qualifies); ``counts``:
        ``{name: {"overlap": k, "eval": n}}`` behind each share; ``shared_template_lists``: the
        ``"<topic>:<register>"`` single-template lists among the eval questions; and the same
        shares and counts for the ``casual`` and ``formal`` eval questions alone.
    :raises NotFoundError: an id is not a query of the scenario.
    :raises ConfigError: an id is on both sides, or ``source`` cannot be rebuilt.
    :raises IoError: the folder lacks queries.jsonl or scenario.json.

    >>> path = load(config=ScenarioConfig(disjoint_phrasings=True))
    >>> sides = phrasing_sides(path)
    >>> fb = [q for q, s in sides.items() if s == "feedback"]
    >>> ev = [q for q, s in sides.items() if s == "eval"]
    >>> phrasing_overlap(path, fb, ev)["template_excluding_shared"]
    0.0
    """
    from ._core import ConfigError, NotFoundError

    meta = _phrasing_of(source)
    fb, ev = list(dict.fromkeys(feedback_ids)), list(dict.fromkeys(eval_ids))
    for q in fb + ev:
        if q not in meta:
            raise NotFoundError(f"scenario.phrasing_overlap: unknown query id (got {q!r}, "
                                "expected an _id of the scenario's queries.jsonl)")
    both = sorted(set(fb) & set(ev))
    if both:
        raise ConfigError(f"scenario.phrasing_overlap: ids on both sides (got {len(both)}, "
                          f"e.g. {both[0]!r}, expected disjoint feedback_ids and eval_ids)")
    topics = _all_topics()

    def single(template: str) -> bool:
        key, register, _ = template.rsplit(":", 2)
        return len(getattr(topics[key], register)) < 2

    seen = {k: {meta[q][k] for q in fb} - {None} for k in ("template", "nickname", "city")}

    def stats(ids: List[str]) -> Dict[str, Any]:
        counts = {k: {"overlap": 0, "eval": 0} for k in
                  ("template", "template_excluding_shared", "nickname", "city")}
        for q in ids:
            m = meta[q]
            for k in ("template", "nickname", "city"):
                if m[k] is not None:
                    counts[k]["eval"] += 1
                    counts[k]["overlap"] += m[k] in seen[k]
            if not single(m["template"]):
                counts["template_excluding_shared"]["eval"] += 1
                counts["template_excluding_shared"]["overlap"] += m["template"] in seen["template"]
        out: Dict[str, Any] = {"eval_questions": len(ids)}
        out.update({k: (c["overlap"] / c["eval"] if c["eval"] else 0.0)
                    for k, c in counts.items()})
        out["counts"] = counts
        return out

    res: Dict[str, Any] = {"feedback_questions": len(fb)}
    res.update(stats(ev))
    res["shared_template_lists"] = sorted({meta[q]["template"].rsplit(":", 1)[0] for q in ev
                                           if single(meta[q]["template"])})
    for register in ("casual", "formal"):
        res[register] = stats([q for q in ev if meta[q]["template"].split(":")[-2] == register])
    return res
