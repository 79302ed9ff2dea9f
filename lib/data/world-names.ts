// Pronounceable invented names for the synthetic world: words built from consonant-vowel syllables, each used
// at most once per world, and never a well-known real name or a word the world's sentences use. Which entity
// gets which name is left to world-generate.ts.
import { drawUniform, pick, randomInt, shuffled, type RandomSource } from '../util/random.js';

const ONSETS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'th', 'sh', 'br', 'dr', 'kr', 'tr'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'i', 'o', 'ai', 'ou'];
const CODAS = ['', '', '', '', 'n', 'r', 'l', 's', 'm', 'th', 'sk', 'nd'];

/**
 * Real names (places, rivers, countries, common given names) and English words that the generator's syllables
 * could spell; a candidate equal to one of them (lowercased) is drawn again. Not exhaustive: it keeps the
 * obvious collisions out.
 */
const BLOCKED = new Set(`
  rome roma lima milan paris sara maria dana nina lena anna mara tina dina rita vera nora mali peru togo oman
  niger kenya tonga samoa malta benin gabon nepal cuba fiji laos sudan gaza kiev riga oslo bern baku doha dubai
  sana tunis rabat lagos dakar delhi tokyo kobe nara osaka pune dili male suva apia vaduz minsk sofia leon bari
  pisa siena lyon nice tours bonn kiel graz linz brno tula omsk perm kazan tver nile volga rhine seine loire
  tiber indus ganges congo amur ural elbe oder thames tigris tana tara sami dora lola lara kira rosa mila luna
  elena marta pedro mario dario tomas lucas matias dima boris ivan olga tanya katya sasha misha pavel igor lisa
  emma liam noah mia ava zara nadia sonia tania dara kali shiva rama sita tamil hindi thai zulu masai bantu
  sumo sushi tofu kimono karma mantra sauna pasta pizza salsa tango samba rumba polka gala diva sofa tuba
  lava soda toga koala panda zebra llama puma kiwi mango papaya banana tomato potato
  kamal davis maren toren solon timon bruno dorian marin tobias samir karim salim tarek malik rashid nadir
  vadim rustam damir timur ramon simon samson solomon moses naomi tamara kamala sabrina karina marina davina
  lorena serena selena melina milena rosita benita anita loretta diego mateo romeo paolo marco dante lorenzo
  rimini modena verona parma genoa turin monza lucca arezzo tirana skopje zagreb sarajevo podgorica
  kabul dhaka hanoi manila jakarta seoul lhasa tibet bhutan burundi rwanda malawi zambia namibia somalia
  libya syria jordan israel kuwait bahrain qatar yemen tonga nauru palau tuvalu vanuatu
  river city born capital language married spouse country flows through people speak built wrote founded
  painted composed designed school hospital tower bridge company symphony novel poem painting ode trading
  observatory year first made known lived where which what when who was were this that then there their
  think search answer information doc title question assistant user system
  `.trim().split(/\s+/));

/** Draws invented words; every word it returns is new for this generator (case-insensitive). */
export class NameGenerator {
  private readonly used = new Set<string>();

  constructor(private readonly random: RandomSource) {}

  /** Marks `word` as taken, so the generator never returns it. */
  reserve(word: string): void {
    this.used.add(word.toLowerCase());
  }

  /**
   * A capitalised word of `minSyllables`..`maxSyllables` syllables (onset + vowel, a coda only on the last one
   * and sometimes none), optionally followed by `suffix`, at least five letters long (short words collide with
   * real names most often), neither blocked nor used before.
   */
  word(minSyllables = 2, maxSyllables = 2, suffix = ''): string {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const syllables = randomInt(this.random, minSyllables, maxSyllables);
      let word = '';
      for (let s = 0; s < syllables; s++) {
        word += pick(this.random, ONSETS) + pick(this.random, VOWELS);
        if (s === syllables - 1) word += pick(this.random, CODAS);
      }
      // A vowel-initial suffix after a final vowel gets a joining consonant ("Thila" + "ia" -> "Thilaria").
      word += /[aeiou]$/.test(word) && /^[aeiou]/.test(suffix) ? `r${suffix}` : suffix;
      const key = word.toLowerCase();
      if (key.length < 5 || BLOCKED.has(key) || this.used.has(key) || /(.)\1\1/.test(key)) continue;
      this.used.add(key);
      return key[0]!.toUpperCase() + key.slice(1);
    }
    throw new RangeError('the name generator ran out of new names; ask for a smaller world');
  }
}

export { pick, shuffled };
