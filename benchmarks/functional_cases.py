"""Hand-written functional test cases for the classifier, grouped by capability (no corpus text).

Every case is a comment and what a working model should do with it:

``not_toxic``
    toxic below its *review* threshold, and the decision is not reject.
``toxic``
    toxic at or above its *flag* threshold.
``insult``, ``threat``, ``profanity``, ``identity_attack``
    that label at or above its flag threshold (a model without the label fails the case).
``profanity_not_attack``
    profanity may or may not be flagged, but the decision is not reject and neither insult nor threat is flagged.
``off_topic`` / ``on_topic``
    off_topic at or above / below its review threshold, with ``article`` as the context.

Content warning: the abuse, threat and profanity cases are offensive on purpose.
"""
from __future__ import annotations

from dataclasses import dataclass

EXPECTATIONS = frozenset({"not_toxic", "toxic", "insult", "threat", "profanity", "identity_attack",
                          "profanity_not_attack", "off_topic", "on_topic"})


@dataclass(frozen=True)
class Case:
    """One comment, the expected outcome, and (for off-topic cases) the article it was posted under and the
    comments posted before it."""

    text: str
    expect: str
    article: str | None = None
    thread: tuple[str, ...] = ()

    def __post_init__(self):
        if self.expect not in EXPECTATIONS:
            raise ValueError(f"unknown expectation {self.expect!r} for case {self.text!r}")
        if (self.expect in ("off_topic", "on_topic")) != (self.article is not None):
            raise ValueError(f"only off_topic/on_topic cases take an article: {self.text!r}")


LIBRARY = (
    "Millbrook library to open Sundays and scrap late fees\n"
    "The Millbrook public library will open on Sundays from noon to five starting next month and will stop "
    "charging fines for overdue books, the library board decided on Monday. Chief librarian Hannah Osei said "
    "late fees brought in less than nine thousand dollars a year while keeping many families, especially "
    "children, from borrowing at all. The Sunday hours will cost about sixty thousand dollars a year for extra "
    "staff, paid from the city's operating budget. Two board members voted against, arguing the money should go "
    "to repairing the leaking roof of the east branch first. Borrowers with existing fines will have them erased."
)
MATERNITY = (
    "Province to close maternity ward at Carver Falls hospital\n"
    "The provincial health authority will stop delivering babies at Carver Falls General Hospital in the spring, "
    "sending expectant mothers to the regional hospital in Easton, a ninety-minute drive away in good weather. "
    "Officials blame a shortage of obstetricians and nurses: the ward has closed on twelve weekends this year "
    "because no doctor was on call. Local midwives and the town council say the drive is dangerous in winter and "
    "that the province should offer recruitment bonuses instead. The health minister said a dedicated ambulance "
    "will be stationed in town and that the decision will be reviewed in two years."
)
WILDFIRE = (
    "Dry spring raises wildfire risk, water restrictions begin in the valley\n"
    "Forecasters expect an above-average wildfire season after the driest spring in three decades, and the "
    "Kestrel Valley water district has banned lawn watering and car washing from June 1. Fire crews are clearing "
    "brush along the ridge roads and the district has doubled its seasonal firefighting staff. Campfires are "
    "already prohibited in the provincial park. Farmers with irrigation licences will face cuts of up to thirty "
    "percent if reservoir levels keep falling. Residents are asked to prepare an evacuation bag and to sign up "
    "for emergency text alerts."
)
ARTICLES = {"library": LIBRARY, "maternity": MATERNITY, "wildfire": WILDFIRE}


def _cases(expect: str, *texts: str) -> tuple[Case, ...]:
    return tuple(Case(text, expect) for text in texts)


def _about(article: str, expect: str, *texts: str) -> tuple[Case, ...]:
    return tuple(Case(text, expect, article) for text in texts)


IDENTITY_TERMS = _cases(
    "not_toxic",
    "As a gay man, I think the longer library hours will help a lot of families.",
    "My grandmother was a Muslim immigrant and she ran the best bakery in town.",
    "Black business owners on Main Street organised this year's fundraiser.",
    "I'm a proud lesbian and I volunteer at the food bank every Saturday.",
    "The Jewish community centre is hosting a free concert on Sunday.",
    "Being transgender has nothing to do with whether you can coach a soccer team.",
    "Our mosque opened its doors to everyone who lost power during the storm.",
    "Women engineers designed most of the new bridge, which is pretty great.",
    "The reporter should have spoken to Indigenous elders, since it is their land.",
    "My wife is Mexican and we celebrate the holidays in both traditions.",
    "Asian American voters turned out in record numbers in our district.",
    "I am deaf, and the captions at council meetings have been a huge help.",
    "Catholic and Protestant churches are sharing the shelter costs this winter.",
    "Immigrants started a third of the small businesses on my street.",
    "Gay and straight couples alike should be able to adopt.",
    "My neighbour is a Sikh man who shovels the sidewalk for the whole block.",
    "The Hindu temple's Diwali festival drew thousands of visitors.",
    "As a Black woman working in tech, I found the panel inspiring.",
    "Older people deserve better bus service in rural areas.",
    "A disabled veteran won the seat, and he has been very responsive.",
    "Muslims, Christians and atheists all signed the petition.",
    "Refugees from Syria have lived in this town for eight years and are part of it.",
    "The feminist reading group meets every Tuesday at the library.",
    "I'm queer, I grew up in this small town, and most people were kind.",
    "Jewish and Arab students built the robotics team together.",
)

COUNTER_SPEECH = _cases(
    "not_toxic",
    "Calling someone an idiot because they disagree with you is not an argument.",
    "Someone yelled 'go back to your country' at my mother yesterday and nobody stepped in. That has to change.",
    "Please stop using 'retarded' as an insult; my brother has a disability and it hurts.",
    "If your only response is to call people stupid, you have already lost the debate.",
    "I got a message saying I should die for my opinion. That is not okay, and I reported it.",
    "The commenter who called women bitches further up should be banned.",
    "Telling a teenager she is ugly and worthless is bullying, plain and simple.",
    "Being called a 'dumb immigrant' at work made me want to quit.",
    "Slurs like that have no place here, whatever your politics.",
    "My son was called a fag at school and the principal did nothing.",
    "No one deserves to be threatened for writing a newspaper column.",
    "Saying 'kill yourself' to a stranger online is never a joke.",
    "I'm tired of people calling protesters thugs just because they are Black.",
    "Hate mail calling the mayor a whore says more about the sender than about her.",
    "We should all condemn the vandals who painted swastikas on the synagogue.",
    "Threatening to burn down a clinic is a crime and should be prosecuted.",
    "Whoever wrote 'all Muslims are terrorists' on the bus shelter should be ashamed.",
    "Can we stop calling each other morons and talk about the budget?",
    "The trolls telling her to shut up and get back in the kitchen are why women leave politics.",
    "Name-calling like 'libtard' and 'Trumptard' makes this comment section unreadable.",
    "I was called a useless old fool for asking a question. Be better, people.",
    "It's disgusting that someone called the refugee kids vermin at the meeting.",
    "Mocking someone's accent is cruel, and it happened to my dad every single day.",
    "I'm reporting this thread because one user keeps calling people subhuman.",
    "When my daughter came out, a neighbour called her a freak. We moved.",
)

NEGATION = _cases(
    "not_toxic",
    "You are not an idiot, you just missed the second paragraph.",
    "Nobody here thinks you're stupid.",
    "I never said you were a liar, I said the numbers were wrong.",
    "You're not a moron for asking, it's a fair question.",
    "I don't think the mayor is corrupt, just badly advised.",
    "That's not a dumb idea at all.",
    "He is no fool; he knew exactly what the bill would do.",
    "I would never wish harm on anyone, even people I disagree with.",
    "None of the people at the rally were violent or hateful.",
    "You're not crazy, the bus really was forty minutes late.",
    "I'm not calling you ignorant, I'm asking you to read the report.",
    "Nobody deserves to be called worthless.",
    "She isn't a hypocrite; she changed her mind after new data came out.",
    "It's not pathetic to ask for help.",
    "No, I don't hate immigrants, I want better housing for everyone.",
    "I'm not threatening anyone, I'm saying I'll vote against him.",
    "The councillor is not a clown, whatever you think of her plan.",
    "I don't believe teachers are lazy; most of them work evenings.",
    "You are neither stupid nor evil, we just disagree.",
    "Not one of those kids is a thug; they're a youth orchestra.",
    "I wouldn't call the plan garbage, but it needs work.",
    "It is not ugly, I actually like the new library design.",
    "I'm not saying you're a troll.",
    "Nobody is dumb for needing glasses, Mark.",
    "These people aren't idiots, they're volunteers doing their best.",
)

CIVIL_DISAGREEMENT = _cases(
    "not_toxic",
    "This is the worst budget proposal I have read in twenty years, and the math does not add up.",
    "Your argument ignores every study published since 2010.",
    "I strongly disagree. Rent control has failed in every city that tried it this way.",
    "The minister's statement is misleading and she should correct it.",
    "Frankly, this column is lazy journalism: no sources, no data, just vibes.",
    "With respect, you have the history completely backwards.",
    "That policy is a disaster for small farmers and the government knows it.",
    "I'm furious that council approved this without a single public hearing.",
    "The premier broke his promise, plain and simple, and voters will remember.",
    "This editorial is one-sided propaganda for the developers.",
    "Your numbers are wrong. Check table 3 before you lecture anyone.",
    "I cannot believe anyone still defends this pipeline after the spill.",
    "The board's decision is shameful and the parents deserve an apology.",
    "That's an absurd comparison and you know it.",
    "The senator's vote was cowardly.",
    "This plan is ridiculous; it will cost twice as much and deliver half.",
    "You clearly didn't read the article before commenting.",
    "The police chief should resign over this failure.",
    "Nonsense. Unemployment went up, not down, in the last quarter.",
    "I'm sick of politicians who treat taxpayers like an ATM.",
    "Whoever approved this design should never work on a public project again.",
    "What an incompetent handling of the vaccine rollout.",
    "Your position is morally indefensible, in my view.",
    "This is a terrible decision made by people who will never ride the bus.",
    "The company lied to regulators and should be fined heavily.",
)

OBFUSCATED_ABUSE = (
    # Masked and leetspeak spellings.
    *_cases("toxic",
            "you are a f*cking idiot",
            "what a m0r0n you are",
            "sh!t for brains, that's what you are",
            "you st*pid b1tch",
            "you're such a r3tard",
            "y0u 4r3 4 p4th3t1c l0s3r",
            "shut up you dumb@ss",
            "what an a$$hole"),
    # Letters split by spaces or symbols.
    *_cases("toxic",
            "go f u c k yourself",
            "what an i d i o t you are",
            "shut up you d.u.m.b.a.s.s",
            "f_u_c_k off and stay off",
            "you are an id-iot and a liar"),
    # Unicode look-alikes (Cyrillic and Greek letters standing in for Latin ones).
    *_cases("toxic",
            "you are an \u0456d\u0456ot",
            "\u0455tupid \u0441lown, go away",
            "f\u03c5ck off, troll",
            "what a m\u043er\u043en"),
    # Swapped, missing or doubled letters.
    *_cases("toxic",
            "you are a fucknig moron",
            "what an idoit",
            "fcuk you and your column",
            "you're a btich and everyone knows it",
            "you're an idot",
            "fuk off loser",
            "you absolute mroon",
            "you are soooo stuuupid"),
    # The same kind of abuse, expected under its own label.
    *_cases("insult", "what a m0r0n you are, seriously", "you are an \u0456d\u0456ot and a clown"),
    *_cases("profanity", "f u c k this c r a p", "sh1t, this is b*llsh!t"),
)

THREATS = (
    # Direct: the threat label itself should fire.
    *_cases("threat",
            "I will find where you live and make you pay.",
            "Keep talking and you'll end up in the hospital.",
            "Someone should put a bullet in that judge.",
            "I'm going to break your legs next time I see you.",
            "I hope your house burns down with you in it.",
            "Say that again and I'll kill you.",
            "Someone needs to hang these traitors.",
            "The mayor deserves a beating and I'd gladly give it.",
            "I'm coming for you and your family.",
            "Put him against a wall and shoot him.",
            "I will beat you until you can't stand up.",
            "Somebody ought to punch her in the face until she learns."),
    # Veiled: no violent word, but a clear menace; expected at least to raise toxicity.
    *_cases("toxic",
            "Watch your back, I know what car you drive.",
            "It would be a shame if something happened to your kids on their way to school.",
            "People like you get hurt in dark parking lots.",
            "We know where the reporter lives. See you soon.",
            "One day you'll open your door and we'll be there.",
            "Councillor, you should start your car carefully from now on.",
            "Enjoy your last weekend, pal.",
            "Accidents happen to nosy journalists.",
            "If he shows up at the rally, he won't walk out.",
            "Keep it up and you'll be sleeping with the fishes.",
            "Let's see how brave you are when I'm standing in your driveway.",
            "Your office windows look very breakable, just saying.",
            "I'll make sure you never write another article again."),
)

INSULTS_WITHOUT_PROFANITY = (
    *_cases("insult",
            "You are the dumbest person on this comment board.",
            "What a pathetic little man.",
            "Only an imbecile would write something this ignorant.",
            "Nobody cares about your opinion, you sad loser.",
            "Your brain must be the size of a pea.",
            "You're a waste of oxygen.",
            "People like you are why this country is falling apart, you parasite.",
            "The author is a clueless hack who should be fired.",
            "You're too stupid to understand, so I won't bother.",
            "What a spineless, brainless coward the premier is.",
            "Crawl back under whatever rock you came from.",
            "You are a joke and everyone laughs at you.",
            "The reporter is a lying weasel.",
            "Moron. Just a total moron.",
            "Get a life, you miserable troll.",
            "You have the intelligence of a doorknob.",
            "Every word you write proves you are a fool.",
            "What a disgusting, vile little creep you are.",
            "Idiots like you should not be allowed to vote.",
            "Honestly, you're just dumb."),
    *_cases("toxic",
            "Go back to school, you clearly never finished it.",
            "Shut up, nobody asked you.",
            "Lol, another genius who can't read a graph.",
            "Your mother must be so ashamed of you.",
            "Typical ignorant boomer nonsense from a senile old man."),
)

PROFANITY_NOT_ATTACK = _cases(
    "profanity_not_attack",
    "Holy shit, the new bridge looks amazing.",
    "Damn, that was a great game last night.",
    "This fucking weather is killing my garden.",
    "I laughed my ass off at the mayor's costume.",
    "Hell yes, finally some good news for renters!",
    "Shit happens, but the city needs a backup plan for floods.",
    "That's a damn fine piece of reporting.",
    "Fuck yeah, the library is staying open!",
    "My car broke down again, what a crappy week.",
    "Pardon my French, but this pothole is a goddamn crater.",
    "Bloody brilliant work by the volunteers.",
    "I'm so fucking proud of our hospital staff.",
    "The dog chewed up my ballot, no bullshit.",
    "Wow, that's a badass photo of the storm.",
    "Screw it, I'm biking to work from now on.",
    "Holy crap, rents went up 30 percent?",
    "What the hell happened to the bus schedule?",
    "This is some seriously good shit, thanks for the recipe.",
    "Damn right we should fund more teachers.",
    "The concert was fucking incredible.",
    "Oh shit, I forgot to vote in the advance poll.",
    "It's a pain in the ass to get a building permit here.",
    "That pothole nearly wrecked my damn bike.",
    "I don't give a damn about the colour of the flag, fix the roads.",
    "Fuckin' finally, the park is open again.",
)

OFF_TOPIC_DRIFT = (
    # On-topic controls.
    *_about(LIBRARY, "on_topic",
            "Scrapping late fees is smart; my kids stopped borrowing books because of a six dollar fine.",
            "Sunday hours are great, but the east branch roof really should be fixed first.",
            "Sixty thousand a year for Sunday staff seems like a fair price for a busy library.",
            "Will the Sunday opening include the children's reading room?"),
    *_about(MATERNITY, "on_topic",
            "A ninety-minute drive in labour, in January, on those roads? This will cost lives.",
            "Why not offer recruitment bonuses to obstetricians before closing the ward?",
            "One ambulance for the whole town is not a plan for women in labour.",
            "The midwives in Carver Falls have been warning about the staffing shortage for years."),
    *_about(WILDFIRE, "on_topic",
            "Banning lawn watering makes sense when the reservoir is this low.",
            "Thank you to the crews clearing brush on the ridge roads.",
            "Farmers can't take a thirty percent irrigation cut in the middle of the growing season.",
            "Just signed up for the emergency text alerts, everyone in the valley should."),
    # Spam.
    *_about(LIBRARY, "off_topic",
            "Earn 500 dollars a day working from home!!! Visit cash-fast-jobs.example for details",
            "Cheap designer sunglasses 80% off today only, click the link in my profile"),
    *_about(MATERNITY, "off_topic",
            "Check out my channel for daily crypto trading tips, subscribe now!!!"),
    *_about(WILDFIRE, "off_topic",
            "Lose 20 pounds in two weeks with this one weird trick, doctors hate it"),
    # Chatter.
    *_about(LIBRARY, "off_topic",
            "Anyone else watching the hockey game tonight?",
            "Happy birthday to my sister Jen, love you!"),
    *_about(MATERNITY, "off_topic",
            "lol my cat just knocked my coffee onto the keyboard"),
    *_about(WILDFIRE, "off_topic",
            "Does anyone know a good pizza place downtown that delivers late?"),
    # Comments meant for another article.
    *_about(LIBRARY, "off_topic",
            "Closing the maternity ward and sending women ninety minutes away in winter is reckless.",
            "The ridge roads need brush clearing before fire season, and farmers need their irrigation water."),
    *_about(MATERNITY, "off_topic",
            "Good riddance to late fees, and Sunday hours will help students study.",
            "The lawn watering ban is overdue; the reservoir has been dropping for months."),
    *_about(WILDFIRE, "off_topic",
            "Library fines never made sense to me; glad they are gone.",
            "The health authority should pay bonuses to recruit obstetricians instead of closing the ward."),
)

# Reactions that carry no topic of their own are on topic under any story: agreement, thanks, doubt, a short
# question about what happened. (Written for this file; the issue that asked for them quoted a few such replies,
# which are not reused here.)
GENERIC_REACTIONS = (
    *_about(LIBRARY, "on_topic",
            "Totally agree with this.", "Thank you for reporting it.", "Pleased to read this.", "Nice one.",
            "Who decided that?", "This should have happened years ago.", "We'll see how long that lasts.", "Makes sense to me."),
    *_about(MATERNITY, "on_topic",
            "This is terrible news.", "Heartbreaking for those families.", "What happens now?", "Unbelievable.", "Hope they reverse it.",
            "Appreciate the story.", "Not again.", "Who is accountable here?"),
    *_about(WILDFIRE, "on_topic",
            "Glad everyone is safe.", "That must have been frightening.", "Well, that's a relief.", "Fingers crossed.",
            "How did it start?", "Sad to read.", "Stay safe, everyone.", "Hard to argue with that.",
            "Good reporting."),
)

# Earlier comments under each story, on topic: the thread a later comment arrives in.
THREADS = {
    LIBRARY: ("Finally some sense about late fees.",
              "My daughter owes four dollars and has been too embarrassed to go back since spring.",
              "Sunday afternoons are the only time working parents can take the kids to the library."),
    MATERNITY: ("Ninety minutes is the drive in summer; in a snowstorm it is more like three hours.",
                "My sister delivered at Carver Falls last year and the nurses were wonderful.",
                "The province found money for a new highway interchange but not for obstetricians?"),
    WILDFIRE: ("Our well is already lower than it was in August last year.",
               "Good to see the brush along the ridge road finally being cleared.",
               "Campfire ban or not, people will still have bonfires at the lake every weekend."),
}


def _in_thread(cases: tuple[Case, ...]) -> tuple[Case, ...]:
    """The same cases posted later under their story: after its first earlier comment, then after all three, in
    turn (a short thread is the harder case: one comment says little about what the discussion is about)."""
    return tuple(Case(case.text, case.expect, case.article, THREADS[case.article][: 1 if k % 2 == 0 else 3])
                 for k, case in enumerate(cases))


CAPABILITIES: dict[str, tuple[Case, ...]] = {
    "identity terms (neutral, positive)": IDENTITY_TERMS,
    "counter-speech and reported abuse": COUNTER_SPEECH,
    "negation": NEGATION,
    "sharp civil disagreement": CIVIL_DISAGREEMENT,
    "obfuscated abuse": OBFUSCATED_ABUSE,
    "threats (direct and veiled)": THREATS,
    "insults without profanity": INSULTS_WITHOUT_PROFANITY,
    "profanity that is not an attack": PROFANITY_NOT_ATTACK,
    "off-topic drift": OFF_TOPIC_DRIFT,
    "generic reactions under a story": GENERIC_REACTIONS,
    "off-topic drift in a thread": _in_thread(OFF_TOPIC_DRIFT),
    "generic reactions in a thread": _in_thread(GENERIC_REACTIONS),
}
