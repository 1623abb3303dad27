//+------------------------------------------------------------------+
//|                                           SignalDeskSelfTest.mq5 |
//| Run this script once in your own terminal before trading with    |
//| SignalDeskEA. It prints one PASS / FAIL line per check:          |
//|  - SHA-256 of the empty input and of the FIPS 180 vectors, and   |
//|    the request signature (HMAC-SHA256) of the pinned vectors;    |
//|  - JSON: captured server responses parse, acks are written as    |
//|    the server expects, numbers are written exactly;              |
//|  - the symbol's filling modes and the account type (hedging or   |
//|    netting), the terminal's and the account's trade permissions; |
//|  - WebRequest permission for the server URL and a signed call to |
//|    GET /ea/v1/ping (device id, secret, PC clock).                |
//| The vectors below are checked by the server's own test suite     |
//| (tests/ea/test_mql5_vectors.py, tests/ea_client/                 |
//| test_mql5_source.py), so they are what the server really sends.  |
//| Nothing is traded: filling modes are checked with OrderCheck.    |
//+------------------------------------------------------------------+
#property copyright   "SignalDesk"
#property version     "1.00"
#property description "Checks this terminal before trading with SignalDeskEA (nothing is traded)."
#property script_show_inputs

#include "include/SignalDeskHttp.mqh"
#include "include/SignalDeskTrade.mqh"
#include "include/SignalDeskReports.mqh"

input string InpServer   = "https://signaldesk.example.com"; // Server URL (as in the EA)
input string InpDeviceId = "";                 // Device id (dev_...)
input string InpSecret   = "";                 // Device secret
input string InpSymbol   = "";                 // Symbol to check (empty: this chart's)

//--- captured server responses: byte for byte what the server answers (ids and times fixed)
#define SD_VEC_COMMANDS    "{\"commands\":[{\"id\":\"cmd_0123456789abcdef0123456789abcdef\",\"type\":\"open\",\"signal_id\":7,\"symbol\":\"XAUUSDm\",\"side\":\"buy\",\"order_type\":\"limit\",\"price\":2350.5,\"sl\":2340,\"tp\":2371.25,\"volume\":0.1,\"expires_at\":1893456000,\"ticket\":null,\"comment\":\"sd:7\"}],\"server_time\":1700000000}"
#define SD_VEC_ACK_ANSWER  "{\"command_id\":\"cmd_0123456789abcdef0123456789abcdef\",\"status\":\"placed\",\"ticket\":123456789012}"
#define SD_VEC_PING        "{\"server_time\":1700000000,\"device_id\":\"dev_selftest01\"}"
#define SD_VEC_PROBLEM     "{\"type\": \"about:blank\", \"title\": \"Unauthorized\", \"status\": 401, \"detail\": \"bad signature\", \"instance\": \"/ea/v1/ping\", \"ref\": \"selftest-1\"}"
//--- what the EA writes: an ack the server parses, and json.dumps' escaping of a text
#define SD_VEC_ACK_OUT     "{\"command_id\":\"cmd_1\",\"status\":\"filled\",\"ticket\":123456789012,\"price\":2350.55,\"volume\":0.1,\"time\":1700000000,\"error\":null}"
#define SD_VEC_ESCAPED     "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\\u00e9\\u20ac\""
//--- commands the EA must refuse, as the Python EA does (acked "rejected")
#define SD_VEC_BAD_SIDE    "{\"id\":\"cmd_bad1\",\"type\":\"open\",\"symbol\":\"EURUSD\",\"side\":\"long\",\"order_type\":\"limit\",\"price\":1.1,\"volume\":0.1}"
#define SD_VEC_BAD_TYPE    "{\"id\":\"cmd_bad2\",\"type\":\"open\",\"symbol\":\"EURUSD\",\"side\":\"buy\",\"order_type\":\"stop\",\"price\":1.1,\"volume\":0.1}"
#define SD_VEC_BAD_PRICE   "{\"id\":\"cmd_bad3\",\"type\":\"open\",\"symbol\":\"EURUSD\",\"side\":\"buy\",\"order_type\":\"limit\",\"volume\":0.1}"
#define SD_VEC_BAD_VOLUME  "{\"id\":\"cmd_bad4\",\"type\":\"open\",\"symbol\":\"EURUSD\",\"side\":\"sell\",\"order_type\":\"market\",\"volume\":0}"
#define SD_VEC_BAD_KIND    "{\"id\":\"cmd_bad5\",\"type\":\"teleport\"}"

int Passed=0,Failed=0;

void Check(const string what,const bool ok,const string detail="")
  {
   if(ok)
      Passed++;
   else
      Failed++;
   Print(ok ? "PASS " : "FAIL ",what,(detail!="" ? " - "+detail : ""));
  }

void Info(const string what) { Print("INFO ",what); }

string Text(const string text)
  {
   uchar bytes[];
   SdUtf8(text,bytes);
   return SdSha256Hex(bytes);
  }

void CheckSha256(const string label,const string text,const string expected)
  {
   string got=Text(text);
   Check("sha256 "+label,got==expected,got==expected ? "" : "got "+got);
  }

void CheckSignature(const string label,const string secret,const string method,
                    const string path,const long timestamp,const string nonce,
                    const string body,const string expected)
  {
   uchar data[];
   SdUtf8(body,data);
   string got=SdSignature(secret,method,path,timestamp,nonce,data);
   Check("signature "+label,got==expected,got==expected ? "" : "got '"+got+"'");
  }

void CheckNumber(const double value,const string expected)
  {
   string got=SdNumber(value);
   Check("number "+expected+" written exactly",got==expected,got==expected ? "" : "got "+got);
  }

void CheckRoundTrip(const double value)
  {
   string got=SdNumber(value);
   Check("number "+got+" reads back as the same double",StringToDouble(got)==value);
  }

void TestHashing()
  {
   uchar empty[],nokey[],digest[];
   int n=CryptEncode(CRYPT_HASH_SHA256,empty,nokey,digest);
   Info(StringFormat("CryptEncode(SHA256) of empty input returned %d bytes (%s); the EA uses "
                     "the known constant instead",n,n==32 ? SdHex(digest) : "no digest"));
   CheckSha256("of the empty input","",SD_SHA256_EMPTY);
   CheckSha256("of \"abc\"","abc",
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
   CheckSha256("of the 448-bit vector","abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
   CheckSignature("of the pinned GET (empty body)","secret","GET","/ea/v1/commands?wait=25",
                  1700000000,"nnnnnnnnnnnnnnnn","",
                  "ed937a8dee179f75cdde04ffb36a262090fc2b3395c2cf2b12c80200d46b2cb9");
   CheckSignature("of a POST with a body","secret","POST","/ea/v1/acks",1700000000,
                  "nnnnnnnnnnnnnnnn","{\"a\":1}",
                  "ab15f42e0075f73caa3e7fbe00e1e69dd07c48c098a07aee826ae1b906774e4d");
   CheckSignature("with a key longer than 64 bytes",
                  "0123456789012345678901234567890123456789012345678901234567890123456789",
                  "POST","/ea/v1/acks",1700000002,"ZZZZZZZZZZZZZZZZZZZZZZ",
                  "{\"command_id\":\"cmd_1\",\"status\":\"placed\"}",
                  "c0a4e5268a5fb7f881d3572471bd447a3edca99b48cb0e475e515e8c7938d39c");
  }

CSdJson *ParseOrFail(CSdJsonParser &parser,const string label,const string text)
  {
   CSdJson *root=parser.Parse(text);
   Check("json: "+label+" parses",root!=NULL);
   return root;
  }

void TestCommands(CSdJsonParser &parser)
  {
   CSdJson *root=ParseOrFail(parser,"a commands answer",SD_VEC_COMMANDS);
   if(root==NULL)
      return;
   CSdJson *list=root.Get("commands");
   CSdJson *c=list==NULL ? NULL : list.At(0);
   Check("json: one command",list!=NULL && list.Size()==1 && c!=NULL);
   if(c!=NULL)
     {
      Check("json: id, type, side, order type, comment",
            c.Str("id")=="cmd_0123456789abcdef0123456789abcdef" && c.Str("type")=="open"
            && c.Str("side")=="buy" && c.Str("order_type")=="limit" && c.Str("comment")=="sd:7");
      Check("json: price 2350.5, sl 2340, tp 2371.25, volume 0.1",
            c.Num("price")==2350.5 && c.Num("sl")==2340.0 && c.Num("tp")==2371.25
            && c.Num("volume")==0.1);
      Check("json: expires_at, signal_id, a null ticket",
            c.Int("expires_at")==1893456000 && c.Int("signal_id")==7 && c.IsNull("ticket"));
      Check("the EA accepts the command",SdCheckCommand(c)=="",SdCheckCommand(c));
     }
   Check("json: server_time",root.Int("server_time")==1700000000);
   delete root;
  }

void TestAnswers(CSdJsonParser &parser)
  {
   CSdJson *ack=ParseOrFail(parser,"an ack answer",SD_VEC_ACK_ANSWER);
   if(ack!=NULL)
     {
      Check("json: a 12-digit ticket is exact",ack.Int("ticket")==123456789012
            && ack.Str("status")=="placed");
      delete ack;
     }
   CSdJson *ping=ParseOrFail(parser,"a ping answer",SD_VEC_PING);
   if(ping!=NULL)
     {
      Check("json: ping fields",ping.Int("server_time")==1700000000
            && ping.Str("device_id")=="dev_selftest01");
      delete ping;
     }
   CSdJson *problem=ParseOrFail(parser,"a problem document (with spaces)",SD_VEC_PROBLEM);
   if(problem!=NULL)
     {
      Check("json: problem status and detail",problem.Int("status")==401
            && problem.Str("detail")=="bad signature");
      delete problem;
     }
  }

void CheckRefused(CSdJsonParser &parser,const string label,const string text,const string why)
  {
   CSdJson *cmd=parser.Parse(text);
   string got=cmd==NULL ? "(does not parse)" : SdCheckCommand(cmd);
   Check("the EA refuses "+label,StringFind(got,why)>=0,got);
   if(cmd!=NULL)
      delete cmd;
  }

void TestWriting(CSdJsonParser &parser)
  {
   string ack=SdAck("cmd_1","filled",123456789012,2350.55,0.1,1700000000,"");
   Check("json: an ack is written as the server expects",ack==SD_VEC_ACK_OUT,ack);
   string text="a\"b\\c\n\t"+ShortToString(1)+ShortToString(0x7F)+ShortToString(0xE9)
               +ShortToString(0x20AC);
   string escaped=SdJsonEscape(text);
   Check("json: control and non-ASCII characters are escaped",escaped==SD_VEC_ESCAPED,escaped);
   CSdJson *back=parser.Parse("{\"t\":"+escaped+"}");
   Check("json: the escaped text reads back",back!=NULL && back.Str("t")==text);
   if(back!=NULL)
      delete back;
   CheckNumber(0.00001,"0.00001");
   CheckNumber(1.095,"1.095");
   CheckNumber(2340.0,"2340");
   CheckNumber(123456789.125,"123456789.125");
   CheckRoundTrip(0.1+0.2);
   CheckRoundTrip(0.8372619047619048);
   CheckRefused(parser,"an unknown side",SD_VEC_BAD_SIDE,"side must be buy or sell");
   CheckRefused(parser,"an unknown order type",SD_VEC_BAD_TYPE,"order_type must be limit or market");
   CheckRefused(parser,"a limit without a price",SD_VEC_BAD_PRICE,"a price for a limit order");
   CheckRefused(parser,"a zero volume",SD_VEC_BAD_VOLUME,"volume missing or not positive");
   CheckRefused(parser,"an unknown command type",SD_VEC_BAD_KIND,"unknown command type");
  }

//--- can the terminal take this request's filling mode? (OrderCheck sends nothing)
bool FillingAccepted(MqlTradeRequest &req,string &detail)
  {
   MqlTradeCheckResult check;
   ZeroMemory(check);
   bool ok=OrderCheck(req,check);
   detail=StringFormat("OrderCheck retcode %u %s",check.retcode,check.comment);
   return ok || check.retcode!=TRADE_RETCODE_INVALID_FILL;
  }

void TestTerminal()
  {
   string symbol=InpSymbol!="" ? InpSymbol : _Symbol;
   Check("the symbol "+symbol+" is known",SymbolSelect(symbol,true));
   string missing=SdSpecMissing(symbol);
   Check("the specification of "+symbol+" is complete",missing=="",missing);
   long flags=SymbolInfoInteger(symbol,SYMBOL_FILLING_MODE);
   long mode=SymbolInfoInteger(symbol,SYMBOL_TRADE_EXEMODE);
   ENUM_ORDER_TYPE_FILLING market=SdFilling(symbol,true);
   Info(StringFormat("%s: filling flags FOK=%s IOC=%s, execution %s; market orders use %s, "
                     "pending orders %s",symbol,(flags&SYMBOL_FILLING_FOK)!=0 ? "yes" : "no",
                     (flags&SYMBOL_FILLING_IOC)!=0 ? "yes" : "no",
                     EnumToString((ENUM_SYMBOL_TRADE_EXECUTION)mode),EnumToString(market),
                     EnumToString(SdFilling(symbol,false))));
   bool usable=market!=ORDER_FILLING_RETURN || mode!=SYMBOL_TRADE_EXECUTION_MARKET;
   Check("a filling mode for market orders on "+symbol,usable,
         "market execution without FOK or IOC: ask the broker");
   MqlTick tick;
   if(SymbolInfoTick(symbol,tick) && tick.ask>0)
     {
      string detail;
      MqlTradeRequest req;
      ZeroMemory(req);
      req.action=TRADE_ACTION_DEAL;
      req.symbol=symbol;
      req.volume=SymbolInfoDouble(symbol,SYMBOL_VOLUME_MIN);
      req.type=ORDER_TYPE_BUY;
      req.price=tick.ask;
      req.deviation=10;
      req.type_filling=market;
      Check("the terminal takes "+EnumToString(market)+" for a market order",
            FillingAccepted(req,detail),detail);
      req.action=TRADE_ACTION_PENDING;
      req.type=ORDER_TYPE_BUY_LIMIT;
      req.price=NormalizeDouble(tick.bid*0.95,SdDigits(symbol));
      req.type_filling=SdFilling(symbol,false);
      Check("the terminal takes ORDER_FILLING_RETURN for a pending order",
            FillingAccepted(req,detail),detail);
     }
   else
      Info("no quote for "+symbol+" now: filling modes not checked with OrderCheck");
   long margin=AccountInfoInteger(ACCOUNT_MARGIN_MODE);
   string kind=margin==ACCOUNT_MARGIN_MODE_RETAIL_HEDGING ? "hedging"
               : margin==ACCOUNT_MARGIN_MODE_RETAIL_NETTING ? "netting" : "exchange (netting)";
   Check("account type "+kind+" is supported",true,
         kind=="hedging" ? "" : "one position per symbol: an opposite signal is refused while a position is open");
   Check("the terminal is connected",TerminalInfoInteger(TERMINAL_CONNECTED)!=0);
   Check("AutoTrading is on ('Algo Trading' button)",TerminalInfoInteger(TERMINAL_TRADE_ALLOWED)!=0,
         "the EA leaves commands pending while it is off");
   Check("the account allows trading",AccountInfoInteger(ACCOUNT_TRADE_ALLOWED)!=0,
         "an investor (read-only) login cannot trade");
   Check("the broker allows automated trading",AccountInfoInteger(ACCOUNT_TRADE_EXPERT)!=0);
  }

void TestServer()
  {
   if(InpDeviceId=="" || InpSecret=="")
     {
      Check("the device id and the secret are filled in",false,"the server checks need them");
      return;
     }
   CSdHttp http;
   http.Init(InpServer,InpDeviceId,InpSecret);
   string answer;
   int status=http.Request("GET","/ea/v1/ping","",answer,10000);
   if(status==-1)
     {
      bool allowed=http.LastError()!=4014;
      Check("WebRequest is allowed for "+InpServer,allowed,
            "Tools > Options > Expert Advisors > Allow WebRequest for listed URL");
      if(allowed)
         Check("the server answers",false,"WebRequest error "+IntegerToString(http.LastError()));
      return;
     }
   Check("WebRequest is allowed for "+InpServer,true);
   CSdJsonParser parser;
   CSdJson *root=parser.Parse(answer);
   if(status!=200)
     {
      string detail=root==NULL ? answer : root.Str("detail");
      if(root!=NULL && !root.IsNull("server_time"))
         detail+=StringFormat(" (this PC is %I64d s off the server)",
                              (long)TimeGMT()-root.Int("server_time"));
      Check("a signed ping is accepted (HTTP "+IntegerToString(status)+")",false,detail);
      if(root!=NULL)
         delete root;
      return;
     }
   Check("a signed ping is accepted (HTTP 200)",true);
   if(root==NULL)
     {
      Check("the ping answer parses",false,answer);
      return;
     }
   if(root.Get("enc")!=NULL)
      Check("payload encryption is off for this device",false,
            "the MQL5 EA cannot decrypt: turn encryption off in /devices");
   else
     {
      Check("the server knows this device",root.Str("device_id")==InpDeviceId,
            root.Str("device_id"));
      long skew=(long)TimeGMT()-root.Int("server_time");
      Check("the PC clock is within 300 s of the server",MathAbs(skew)<=300,
            StringFormat("%I64d s off",skew));
     }
   delete root;
  }

void OnStart()
  {
   Print("SignalDesk self-test: ",TerminalInfoString(TERMINAL_NAME)," build ",
         TerminalInfoInteger(TERMINAL_BUILD),", account ",AccountInfoInteger(ACCOUNT_LOGIN));
   CSdJsonParser parser;
   TestHashing();
   TestCommands(parser);
   TestAnswers(parser);
   TestWriting(parser);
   TestTerminal();
   TestServer();
   string summary=StringFormat("SignalDesk self-test: %d passed, %d failed",Passed,Failed);
   Print(summary);
   if(Failed>0)
      Alert(summary,": see the Experts log; do not trade until every line passes");
  }
//+------------------------------------------------------------------+
